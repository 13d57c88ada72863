// agentomics-agent-step --steps plan..code: one iteration's agent steps.
// Iteration 1 starts a new run (no --state); later ones continue prev_state.
process AGENT_STEP {
    tag "lineage${lineage}:iter${iteration}"
    label 'process_single'
    container "${params.container}"

    input:
    tuple val(lineage), val(iteration), path(data, stageAs: 'agent'), path(prev_state, stageAs: 'prev_state')

    output:
    tuple val(lineage), val(iteration), path('state'), emit: state
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def start = iteration == 1
        ? "--seed ${params.seed} --lineage ${lineage} --metric ${params.metric} --iterations ${params.iterations} --train-time-limit ${params.train_time_limit}" +
          (params.time_budget != null ? " --time-budget ${params.time_budget}" : '') +
          (params.plateau != null ? " --plateau ${params.plateau}" : '') +
          (params.target != null ? " --target ${params.target}" : '')
        : "--state prev_state"
    """
    ${params.bin_prefix}agentomics-agent-step --steps ${params.agent_steps} --data agent --out state \\
        ${start} --agent ${params.agent} --threads ${task.cpus} ${params.agent_step_args ?: ''} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-agent-step: \$(${params.bin_prefix}agentomics-agent-step --version)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p state/workspace
    echo '{}' > state/run.json
    printf '"%s":\\n    agentomics-agent-step: stub\\n' "${task.process}" > versions.yml
    """
}
