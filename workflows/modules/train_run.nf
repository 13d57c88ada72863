// agentomics-train-run: the heavy task (CPU or GPU queue). The run directory's
// name (iter<I>) is the run id that history.json records. Options (time and
// memory limits, GPUs): task.ext.args, set in workflows/nextflow.config.
process TRAIN_RUN {
    tag "lineage${meta.lineage}:iter${meta.iteration}"
    label 'process_gpu'

    input:
    tuple val(meta), path(data, stageAs: 'agent'), path(state, stageAs: 'state'), path(selection, stageAs: 'selection')

    output:
    tuple val(meta), path("iter${meta.iteration}"), emit: run
    tuple val(meta), path('versions.yml'),          emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-train-run --state state --data agent --selection selection --out iter${meta.iteration} --threads ${task.cpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-train-run: \$(agentomics-train-run --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p iter${meta.iteration}/model
    echo '{}' > iter${meta.iteration}/metrics.json
    touch iter${meta.iteration}/predictions.valid.tsv iter${meta.iteration}/predictions.train.tsv iter${meta.iteration}/train.log
    printf '"%s":\\n    agentomics-train-run: stub\\n' "${task.process}" > versions.yml
    """
}
