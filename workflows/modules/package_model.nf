// agentomics-package-model: packs the best iteration of the chosen lineage
// (meta: its final iteration); history.json next to it (the report is
// agentomics-report's, modules/report.nf). The prepared agent data is staged too: its
// dataset.json gives the package the classes, positive class and sequence
// columns (as in the Snakemake workflow), and the selection slice, on which
// it decides whether an ensemble of the lineage's best runs is packaged.
// Further options (e.g. --ensemble 0): task.ext.args.
process PACKAGE_MODEL {
    tag "lineage${meta.lineage}"
    label 'process_low'

    input:
    tuple val(meta), path(state, stageAs: 'state'), path(runs, stageAs: 'runs/*'), path(data, stageAs: 'agent'), path(slice, stageAs: 'selection')

    output:
    tuple val(meta), path('model.tar.gz'), emit: model
    tuple val(meta), path('history.json'), emit: history
    tuple val(meta), path('versions.yml'), emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    agentomics-package-model --state state --runs ${runs} --data agent --selection selection --threads ${task.cpus} --out model.tar.gz ${args}
    cp state/history.json history.json
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-package-model: \$(agentomics-package-model --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    touch model.tar.gz history.json
    printf '"%s":\\n    agentomics-package-model: stub\\n' "${task.process}" > versions.yml
    """
}
