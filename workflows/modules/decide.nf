// agentomics-reflect --decide: the stop decision under the pipeline's
// iteration and time budgets (task.ext.args, set in workflows/nextflow.config),
// made after every reflect. Only this task gets the budgets: the lineage's
// states start without any (agent-step --iterations 0), and the next iteration
// continues the reflected state, not this one, so raising a budget on -resume
// re-runs these decisions and nothing of a finished iteration. Its output, the
// decided state, is the lineage's final state when the decision is stop.
process DECIDE {
    tag "lineage${meta.lineage}:iter${meta.iteration}"
    label 'process_single'

    input:
    tuple val(meta), path(state, stageAs: 'reflected')

    output:
    tuple val(meta), path('decided'),      emit: state
    tuple val(meta), path('versions.yml'), emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-reflect --decide --state reflected --out decided ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-reflect: \$(agentomics-reflect --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p decided
    echo '{"decision": "stop"}' > decided/decision.json
    echo '{"best": null}' > decided/history.json
    printf '"%s":\\n    agentomics-reflect: stub\\n' "${task.process}" > versions.yml
    """
}
