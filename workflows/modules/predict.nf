// agentomics-predict: the packaged model on the held-out test.
process PREDICT {
    tag "${meta.id}"
    label 'process_medium'
    container "${params.container}"

    input:
    path model
    tuple val(meta), path(heldout, stageAs: 'heldout')

    output:
    tuple val(meta), path('test_predictions.tsv'), emit: predictions
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    ${params.bin_prefix}agentomics-predict --model ${model} --input heldout/test.tsv --output test_predictions.tsv --threads ${task.cpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-predict: \$(${params.bin_prefix}agentomics-predict --version)
    END_VERSIONS
    """

    stub:
    """
    touch test_predictions.tsv
    printf '"%s":\\n    agentomics-predict: stub\\n' "${task.process}" > versions.yml
    """
}
