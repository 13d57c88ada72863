# Every lineage's final (decided) state → agentomics-select (a checkpoint:
# lineages.json names the chosen lineage and its final state) → package-model
# of the chosen lineage (with the prepared data: its dataset.json gives the
# package the positive class and sequence columns; with the selection slice it
# decides whether an ensemble of the lineage's best runs is packaged) → predict + evaluate on the
# held-out test; history.json next to the package; the report last.


checkpoint select_lineage:
    input:
        *final_state_inputs(),
    output:
        f"{RESULTS}/lineages.json",
    log:
        f"{RESULTS}/logs/select_lineage.log",
    params:
        tool=tool("select"),
    threads: 1
    resources:
        mem_mb=res("light", "mem_mb", 500),
        runtime=res("light", "runtime", 5),
    shell:
        "{params.tool} --states {input:q} --out {output:q} 2> {log:q}"


rule package_model:
    input:
        unpack(chosen_input),
    output:
        f"{RESULTS}/model.tar.gz",
    log:
        f"{RESULTS}/logs/package_model.log",
    params:
        tool=tool("package-model"),
        state=input_arg("state"),
        runs=input_arg("runs"),
        data=input_arg("data"),
        slice=input_arg("slice"),
    threads: THREADS
    resources:
        # the ensemble check predicts validation and selection rows with up to 5 models
        mem_mb=res("predict", "mem_mb", 4000),
        runtime=res("predict", "runtime", 60),
    shell:
        "{params.tool} --state {params.state} --runs {params.runs} --data {params.data} --selection {params.slice}"
        " --threads {threads} --out {output:q} 2> {log:q}"


rule history:
    input:
        unpack(chosen_input),
    output:
        f"{RESULTS}/history.json",
    log:
        f"{RESULTS}/logs/history.log",
    params:
        state=input_arg("state"),
    threads: 1
    resources:
        mem_mb=res("light", "mem_mb", 500),
        runtime=res("light", "runtime", 5),
    shell:
        "cp {params.state}/history.json {output:q} 2> {log:q}"


# The last step: agentomics-report reads the results folder (every lineage's
# states and runs, the data, the selection, the held-out test results) and
# writes report.html (annotated for `snakemake --report`), report.md and the
# MultiQC custom content.
rule report:
    input:
        unpack(report_input),
    output:
        html=report(
            f"{RESULTS}/report.html",
            caption="../report/report.rst",
            category="agentomics",
            labels={"file": "report.html"},
        ),
        md=report(
            f"{RESULTS}/report.md",
            caption="../report/report_md.rst",
            category="agentomics",
            labels={"file": "report.md"},
        ),
        mqc=f"{RESULTS}/agentomics_mqc.json",
        mqc_stats=f"{RESULTS}/agentomics_general_stats_mqc.json",
    log:
        f"{RESULTS}/logs/report.log",
    params:
        tool=tool("report"),
        results=lambda wildcards, output: os.path.dirname(output.html),
        title=DATASET,
    threads: 1
    resources:
        mem_mb=res("light", "mem_mb", 500) * 2,
        runtime=res("light", "runtime", 5),
    shell:
        "{params.tool} --results {params.results:q} --title {params.title:q} 2> {log:q}"


rule predict:
    input:
        model=f"{RESULTS}/model.tar.gz",
        heldout=f"{RESULTS}/data/heldout",
    output:
        f"{RESULTS}/test_predictions.tsv",
    log:
        f"{RESULTS}/logs/predict.log",
    params:
        tool=tool("predict"),
    threads: THREADS
    resources:
        mem_mb=res("predict", "mem_mb", 4000),
        runtime=res("predict", "runtime", 60),
    shell:
        "{params.tool} --model {input.model:q} --input {input.heldout:q}/test.tsv --output {output:q}"
        " --threads {threads} 2> {log:q}"


rule evaluate:
    input:
        predictions=f"{RESULTS}/test_predictions.tsv",
        heldout=f"{RESULTS}/data/heldout",
    output:
        f"{RESULTS}/test_metrics.json",
    log:
        f"{RESULTS}/logs/evaluate.log",
    params:
        tool=tool("evaluate"),
    threads: 1
    resources:
        mem_mb=res("light", "mem_mb", 500) * 2,
        runtime=res("light", "runtime", 5) * 2,
    shell:
        "{params.tool} --predictions {input.predictions:q} --labels {input.heldout:q}/test.tsv"
        " --out {output:q} 2> {log:q}"
