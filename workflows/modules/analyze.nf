// agentomics-agent-step --step analyze: the agent reads the iteration's run.
// Options (the agent, further agent-step options): task.ext.args.
process ANALYZE {
    tag "lineage${meta.lineage}:iter${meta.iteration}"
    label 'process_single'

    input:
    tuple val(meta), path(data, stageAs: 'agent'), path(state, stageAs: 'state'), path(run)

    output:
    tuple val(meta), path('analyzed'),     emit: state
    tuple val(meta), path('versions.yml'), emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-agent-step --step analyze --state state --run ${run} --data agent --out analyzed --threads ${task.cpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-agent-step: \$(agentomics-agent-step --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p analyzed
    echo '{}' > analyzed/run.json
    printf '"%s":\\n    agentomics-agent-step: stub\\n' "${task.process}" > versions.yml
    """
}
