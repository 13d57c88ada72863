// agentomics-reflect: adds the iteration to history.json and decides continue/stop.
process REFLECT {
    tag "lineage${lineage}:iter${iteration}"
    label 'process_single'
    container "${params.container}"

    input:
    tuple val(lineage), val(iteration), path(data, stageAs: 'agent'), path(state, stageAs: 'analyzed'), path(run)

    output:
    tuple val(lineage), val(iteration), path('reflected'), emit: state
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    ${params.bin_prefix}agentomics-reflect --state analyzed --run ${run} --data agent \\
        --out reflected --agent ${params.agent} ${params.reflect_args ?: ''} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-reflect: \$(${params.bin_prefix}agentomics-reflect --version)
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
