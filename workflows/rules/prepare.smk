# agentomics-prepare-data: normalised agent data and the held-out test.
# One --out folder holds them all; only data/agent is ever given to the agent
# (data/selection goes to train-run only, data/heldout to predict and evaluate).


rule prepare_data:
    input:
        unpack(prepare_input_files),
    output:
        **prepare_outputs(),
    log:
        f"{RESULTS}/logs/prepare_data.log",
    params:
        tool=tool("prepare-data"),
        args=prepare_args(),
        out=lambda wildcards, output: os.path.dirname(output.agent),
    threads: THREADS
    resources:
        mem_mb=res("prepare", "mem_mb", 4000),
        runtime=res("prepare", "runtime", 60),
    shell:
        # --force: the folder that Snakemake made for the two outputs is replaced whole.
        "{params.tool} {params.args} --out {params.out:q} --force --threads {threads} 2> {log:q}"
