// agentomics-train-run: the heavy task (CPU or GPU queue). The run directory's
// name (iterN) is the run id that history.json records.
process TRAIN_RUN {
    tag "lineage${lineage}:iter${iteration}"
    label 'process_gpu'
    container "${params.container}"

    input:
    tuple val(lineage), val(iteration), path(data, stageAs: 'agent'), path(state, stageAs: 'state')

    output:
    tuple val(lineage), val(iteration), path("iter${iteration}"), emit: run
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def mem = params.train_mem_limit ? "--mem-limit ${params.train_mem_limit}" : ''
    """
    ${params.bin_prefix}agentomics-train-run --state state --data agent --out iter${iteration} \\
        --time-limit ${params.train_time_limit} ${mem} --threads ${task.cpus} --gpus ${params.gpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-train-run: \$(${params.bin_prefix}agentomics-train-run --version)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p iter${iteration}/model
    echo '{}' > iter${iteration}/metrics.json
    touch iter${iteration}/predictions.valid.tsv iter${iteration}/predictions.train.tsv iter${iteration}/train.log
    printf '"%s":\\n    agentomics-train-run: stub\\n' "${task.process}" > versions.yml
    """
}
