// agentomics-agent-step --steps plan..code: one iteration's agent steps.
// Iteration 1 starts a new run (no state); later ones continue prev_state,
// the previous iteration's reflected state. Options (the steps, the agent,
// the new-run options of iteration 1, LLM settings): task.ext.args, set in
// workflows/nextflow.config.
process AGENT_STEP {
    tag "lineage${meta.lineage}:iter${meta.iteration}"
    label 'process_single'

    input:
    tuple val(meta), path(data, stageAs: 'agent'), path(prev_state, stageAs: 'prev_state')

    output:
    tuple val(meta), path('state'),        emit: state
    tuple val(meta), path('versions.yml'), emit: versions

    script:
    def args = task.ext.args ?: ''
    def from = meta.iteration > 1 ? ' --state prev_state' : ''
    """
    agentomics-agent-step --data agent --out state${from} --threads ${task.cpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-agent-step: \$(agentomics-agent-step --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p state/workspace
    echo '{}' > state/run.json
    printf '"%s":\\n    agentomics-agent-step: stub\\n' "${task.process}" > versions.yml
    """
}
