// agentomics-agent-step --step analyze: the agent reads the iteration's run.
process ANALYZE {
    tag "lineage${lineage}:iter${iteration}"
    label 'process_single'
    container "${params.container}"

    input:
    tuple val(lineage), val(iteration), path(data, stageAs: 'agent'), path(state, stageAs: 'state'), path(run)

    output:
    tuple val(lineage), val(iteration), path('analyzed'), emit: state
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    ${params.bin_prefix}agentomics-agent-step --step analyze --state state --run ${run} --data agent \\
        --out analyzed --agent ${params.agent} --threads ${task.cpus} ${params.agent_step_args ?: ''} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-agent-step: \$(${params.bin_prefix}agentomics-agent-step --version)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p analyzed
    echo '{}' > analyzed/run.json
    printf '"%s":\\n    agentomics-agent-step: stub\\n' "${task.process}" > versions.yml
    """
}
