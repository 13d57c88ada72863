// agentomics-reflect: adds the iteration to history.json and decides
// continue/stop (decision.json). Options (the agent, LLM settings, further
// reflect options): task.ext.args.
process REFLECT {
    tag "lineage${meta.lineage}:iter${meta.iteration}"
    label 'process_single'

    input:
    tuple val(meta), path(data, stageAs: 'agent'), path(state, stageAs: 'analyzed'), path(run)

    output:
    tuple val(meta), path('reflected'),    emit: state
    tuple val(meta), path('versions.yml'), emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-reflect --state analyzed --run ${run} --data agent --out reflected ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-reflect: \$(agentomics-reflect --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p reflected
    echo '{"decision": "stop"}' > reflected/decision.json
    echo '{"best": null}' > reflected/history.json
    printf '"%s":\\n    agentomics-reflect: stub\\n' "${task.process}" > versions.yml
    """
}
