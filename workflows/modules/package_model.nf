// agentomics-package-model: packs the chosen lineage's best iteration;
// history.json and report.md (from the package) next to it.
process PACKAGE_MODEL {
    tag "lineage${lineage}"
    label 'process_low'
    container "${params.container}"

    input:
    tuple val(lineage), path(state, stageAs: 'state'), path(runs, stageAs: 'runs/*')

    output:
    path 'model.tar.gz', emit: model
    path 'history.json', emit: history
    path 'report.md',    emit: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    ${params.bin_prefix}agentomics-package-model --state state --runs ${runs} --out model.tar.gz ${args}
    cp state/history.json history.json
    tar -xzOf model.tar.gz report.md > report.md
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-package-model: \$(${params.bin_prefix}agentomics-package-model --version)
    END_VERSIONS
    """

    stub:
    """
    touch model.tar.gz history.json report.md
    printf '"%s":\\n    agentomics-package-model: stub\\n' "${task.process}" > versions.yml
    """
}
