// agentomics-predict: the packaged model on the held-out test. Further
// options: task.ext.args.
process PREDICT {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(model), path(heldout, stageAs: 'heldout')

    output:
    tuple val(meta), path('test_predictions.tsv'), emit: predictions
    tuple val(meta), path('versions.yml'),         emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-predict --model ${model} --input heldout/test.tsv --output test_predictions.tsv --threads ${task.cpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-predict: \$(agentomics-predict --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    touch test_predictions.tsv
    printf '"%s":\\n    agentomics-predict: stub\\n' "${task.process}" > versions.yml
    """
}
