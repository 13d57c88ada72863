// agentomics-select: which lineage is packaged. Input: every lineage's final
// meta (its last iteration) and final (decided) state, in the same order
// (main.nf sorts them by lineage). The states are staged as in/<k>/decided
// and linked as lineage<L>/iter<I>/decided, the layout under --outdir, so
// lineages.json names each state as it is published. The rule (the highest
// best validation value, ties and no best at all to the lowest lineage) is
// the tool's; main.nf reads only "chosen" from lineages.json, to route the
// chosen lineage's state and runs to PACKAGE_MODEL. Further options:
// task.ext.args.
process SELECT_LINEAGE {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), val(lineages), path(states, stageAs: 'in/?/*')

    output:
    tuple val(meta), path('lineages.json'), emit: selection
    tuple val(meta), path('versions.yml'),  emit: versions

    script:
    def args = task.ext.args ?: ''
    def dirs = lineages.collect { m -> "lineage${m.lineage}/iter${m.iteration}" }
    def links = dirs.withIndex().collect { d, k -> "mkdir -p ${d} && ln -s ../../in/${k + 1}/decided ${d}/decided" }
    """
    ${links.join('\n    ')}
    agentomics-select --states ${dirs.collect { "${it}/decided" }.join(' ')} --out lineages.json ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-select: \$(agentomics-select --version | head -1)
    END_VERSIONS
    """

    stub:
    def recs = lineages.collect { m -> [lineage: m.lineage, iterations: m.iteration, best: null, decision: [decision: 'stop'], state: "lineage${m.lineage}/iter${m.iteration}/decided".toString()] }
    def sel = [format_version: 1, metric: 'stub', chosen: recs[0].lineage, chosen_best: null, chosen_state: recs[0].state, lineages: recs]
    """
    cat <<-'END_JSON' > lineages.json
    ${groovy.json.JsonOutput.toJson(sel)}
    END_JSON
    printf '"%s":\\n    agentomics-select: stub\\n' "${task.process}" > versions.yml
    """
}
