// agentomics-evaluate: the trusted scorer on the held-out test.
process EVALUATE {
    tag "${meta.id}"
    label 'process_single'
    container "${params.container}"

    input:
    tuple val(meta), path(predictions), path(heldout, stageAs: 'heldout')

    output:
    path 'test_metrics.json', emit: metrics
    path 'versions.yml',      emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    ${params.bin_prefix}agentomics-evaluate --predictions ${predictions} --labels heldout/test.tsv --out test_metrics.json ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-evaluate: \$(${params.bin_prefix}agentomics-evaluate --version)
    END_VERSIONS
    """

    stub:
    """
    echo '{}' > test_metrics.json
    printf '"%s":\\n    agentomics-evaluate: stub\\n' "${task.process}" > versions.yml
    """
}
