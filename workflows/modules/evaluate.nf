// agentomics-evaluate: the trusted scorer on the held-out test. Further
// options: task.ext.args.
process EVALUATE {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(predictions), path(heldout, stageAs: 'heldout')

    output:
    tuple val(meta), path('test_metrics.json'), emit: metrics
    tuple val(meta), path('versions.yml'),      emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-evaluate --predictions ${predictions} --labels heldout/test.tsv --out test_metrics.json ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-evaluate: \$(agentomics-evaluate --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    echo '{}' > test_metrics.json
    printf '"%s":\\n    agentomics-evaluate: stub\\n' "${task.process}" > versions.yml
    """
}
