# One iteration of one lineage:
#   agent-step plan..code ─► train-run ─► agent-step analyze ─► reflect ─► decide (checkpoint)
# Iteration I > 1 starts from iteration I-1's reflected state; it is requested
# only while decide said "continue" (see lineage_iterations in common.smk).
# decide (agentomics-reflect --decide) is the only job that gets the
# iteration and time budgets: the lineage's states carry none of their own,
# and the next iteration continues the reflected state, not the decided one,
# so a re-run with larger budgets re-runs only the decide jobs (their params
# changed) and continues every lineage where it stopped.
#
# A state directory starts as a hard-linked copy of the previous one, so each
# job ends by removing the copy of Snakemake's .snakemake_timestamp that it may
# have inherited: otherwise Snakemake's touching the new state's timestamp would
# touch the old state's too, and a finished run would look outdated on the next
# invocation (everything from iteration 1 on would be recomputed).


rule agent_steps:
    input:
        unpack(agent_steps_input),
    output:
        directory(f"{RESULTS}/lineage{{lineage}}/iter{{iteration}}/agent"),
    log:
        f"{RESULTS}/logs/lineage{{lineage}}/iter{{iteration}}/agent_steps.log",
    params:
        tool=tool("agent-step"),
        steps=config["agent_steps"],
        agent=config["agent"],
        state_args=agent_steps_state_args,
        llm=llm_args(),
        extra=_opt("agent_step_args", ""),
    threads: AGENT_THREADS
    resources:
        mem_mb=res("agent", "mem_mb", 2000),
        runtime=res("agent", "runtime", 30),
    shell:
        "{params.tool} --steps {params.steps:q} --data {input.data:q} --out {output:q}"
        " {params.state_args} --agent {params.agent:q} --threads {threads} {params.llm} {params.extra}"
        " 2> {log:q} && rm -f {output:q}/.snakemake_timestamp"


rule train_run:
    input:
        state=state_dir("{lineage}", "{iteration}", "agent"),
        data=f"{RESULTS}/data/agent",
        selection=f"{RESULTS}/data/selection",
    output:
        directory(run_dir("{lineage}", "{iteration}")),
    log:
        f"{RESULTS}/logs/lineage{{lineage}}/iter{{iteration}}/train_run.log",
    params:
        tool=tool("train-run"),
        time_limit=config["train_time_limit"],
        mem_limit=(f"--mem-limit {int(config['train_mem_limit'])}" if config.get("train_mem_limit") else ""),
    threads: THREADS
    resources:
        mem_mb=res("train", "mem_mb", 8000),
        runtime=train_runtime(),
        gpu=GPUS,
    shell:
        "{params.tool} --state {input.state:q} --data {input.data:q} --selection {input.selection:q} --out {output:q}"
        " --time-limit {params.time_limit} {params.mem_limit} --threads {threads} --gpus {resources.gpu}"
        " 2> {log:q} && rm -f {output:q}/.snakemake_timestamp"


rule analyze:
    input:
        state=state_dir("{lineage}", "{iteration}", "agent"),
        run=run_dir("{lineage}", "{iteration}"),
        data=f"{RESULTS}/data/agent",
    output:
        directory(state_dir("{lineage}", "{iteration}", "analyzed")),
    log:
        f"{RESULTS}/logs/lineage{{lineage}}/iter{{iteration}}/analyze.log",
    params:
        tool=tool("agent-step"),
        agent=config["agent"],
        extra=_opt("agent_step_args", ""),
    threads: AGENT_THREADS
    resources:
        mem_mb=res("agent", "mem_mb", 2000),
        runtime=res("agent", "runtime", 30),
    shell:
        "{params.tool} --step analyze --state {input.state:q} --run {input.run:q} --data {input.data:q}"
        " --out {output:q} --agent {params.agent:q} --threads {threads} {params.extra}"
        " 2> {log:q} && rm -f {output:q}/.snakemake_timestamp"


rule reflect:
    input:
        state=state_dir("{lineage}", "{iteration}", "analyzed"),
        run=run_dir("{lineage}", "{iteration}"),
        data=f"{RESULTS}/data/agent",
    output:
        directory(state_dir("{lineage}", "{iteration}", "reflected")),
    log:
        f"{RESULTS}/logs/lineage{{lineage}}/iter{{iteration}}/reflect.log",
    params:
        tool=tool("reflect"),
        agent=config["agent"],
        llm=llm_args(),
        extra=_opt("reflect_args", ""),
    threads: AGENT_THREADS
    resources:
        mem_mb=res("agent", "mem_mb", 2000),
        runtime=res("agent", "runtime", 30),
    shell:
        "{params.tool} --state {input.state:q} --run {input.run:q} --data {input.data:q}"
        " --out {output:q} --agent {params.agent:q} {params.llm} {params.extra}"
        " 2> {log:q} && rm -f {output:q}/.snakemake_timestamp"


checkpoint decide:
    input:
        state_dir("{lineage}", "{iteration}", "reflected"),
    output:
        directory(state_dir("{lineage}", "{iteration}", "decided")),
    log:
        f"{RESULTS}/logs/lineage{{lineage}}/iter{{iteration}}/decide.log",
    params:
        tool=tool("reflect"),
        budgets=budget_args(),
    threads: 1
    resources:
        mem_mb=res("agent", "mem_mb", 2000),
        runtime=res("agent", "runtime", 30),
    shell:
        "{params.tool} --decide --state {input:q} --out {output:q} {params.budgets}"
        " 2> {log:q} && rm -f {output:q}/.snakemake_timestamp"


rule lineage_summary:
    input:
        unpack(lineage_summary_input),
    output:
        f"{RESULTS}/lineage{{lineage}}/summary.json",
    log:
        f"{RESULTS}/logs/lineage{{lineage}}/summary.log",
    params:
        json=lineage_summary_json,
    threads: 1
    resources:
        mem_mb=res("light", "mem_mb", 500),
        runtime=res("light", "runtime", 5),
    shell:
        "printf '%s\\n' {params.json:q} > {output:q} 2> {log:q}"
