// agentomics-report: the last step, the run's report from the published
// layout rebuilt in the task (as SELECT_LINEAGE does): every lineage's final
// state linked as res/lineage<L>/iter<I>/decided, its run directories as
// res/lineage<L>/runs/<name>, the data as res/data/{agent,heldout}, and
// lineages.json, model.tar.gz, test_metrics.json and test_predictions.tsv
// beside them.
// Writes report.html, report.md and the MultiQC custom content, published to
// --outdir, where the report's links (relative to the results folder) lead to
// the published states. Further options: task.ext.args.
process REPORT {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(selection, stageAs: 'res/lineages.json'), val(finals), path(states, stageAs: 'in/states/?/*'),
          val(runNames), path(runs, stageAs: 'in/runs/?/*'), path(data, stageAs: 'res/data/agent'),
          path(heldout, stageAs: 'res/data/heldout'), path(test, stageAs: 'res/*')

    output:
    tuple val(meta), path('report.html'), path('report.md'), emit: report
    tuple val(meta), path('*_mqc.json'),                    emit: multiqc
    tuple val(meta), path('versions.yml'),                  emit: versions

    script:
    def args = task.ext.args ?: ''
    def stateLinks = finals.withIndex().collect { m, k ->
        "mkdir -p res/lineage${m.lineage}/iter${m.iteration} && ln -s ../../../in/states/${k + 1}/decided res/lineage${m.lineage}/iter${m.iteration}/decided" }
    def runLinks = runNames.withIndex().collect { lr, k ->
        "mkdir -p res/lineage${lr[0]}/runs && ln -s ../../../in/runs/${k + 1}/${lr[1]} res/lineage${lr[0]}/runs/${lr[1]}" }
    """
    ${(stateLinks + runLinks).join('\n    ')}
    agentomics-report --results res --out-dir . --title ${meta.id} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-report: \$(agentomics-report --version | head -1)
    END_VERSIONS
    """

    stub:
    """
    touch report.html report.md agentomics_mqc.json agentomics_general_stats_mqc.json
    printf '"%s":\\n    agentomics-report: stub\\n' "${task.process}" > versions.yml
    """
}
