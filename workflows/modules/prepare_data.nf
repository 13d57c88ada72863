// agentomics-prepare-data: normalised agent data (data/agent) and the held-out
// test (data/heldout, only when a test set is given). Inputs are staged under
// in/<kind>/; optional kinds are empty lists.
def shq(v) { "'" + v.toString().replace("'", "'\\''") + "'" }
def fileOpts(opt, v) { [v].flatten().findAll { it }.collect { f -> "${opt} ${shq(f)}" } }
def listOf(v) { v == null || v == '' || v == false ? [] : (v instanceof List ? v : v.toString().tokenize(',')) }

process PREPARE_DATA {
    tag "${meta.id}"
    label 'process_medium'
    container "${params.container}"

    input:
    tuple val(meta), path(train, stageAs: 'in/train/*'), path(valid, stageAs: 'in/valid/*'), path(test, stageAs: 'in/test/*'), path(description, stageAs: 'in/description/*')

    output:
    tuple val(meta), path('data/agent'),   emit: agent
    tuple val(meta), path('data/heldout'), emit: heldout, optional: true
    path 'versions.yml',                   emit: versions

    script:
    def args = task.ext.args ?: ''
    def opts = fileOpts('--train', train) + fileOpts('--valid', valid) + fileOpts('--test', test) + fileOpts('--description', description)
    [['label_col', '--label-col'], ['label_from', '--label-from'], ['id_col', '--id-col'], ['classes', '--classes'], ['positive', '--positive']].each { key, opt ->
        if (params[key] != null && params[key] != '') opts << "${opt} ${shq(params[key])}"
    }
    [['seq_col', '--seq-col'], ['keep_col', '--keep-col']].each { key, opt ->
        listOf(params[key]).each { opts << "${opt} ${shq(it)}" }
    }
    if (params.u_to_t) opts << '--u-to-t'
    if (params.strict) opts << '--strict'
    """
    ${params.bin_prefix}agentomics-prepare-data ${opts.join(' ')} ${params.prepare_args ?: ''} --out data --threads ${task.cpus} ${args}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-prepare-data: \$(${params.bin_prefix}agentomics-prepare-data --version)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p data/agent data/heldout
    touch data/agent/train.tsv data/agent/dataset.json data/heldout/test.tsv
    printf '"%s":\\n    agentomics-prepare-data: stub\\n' "${task.process}" > versions.yml
    """
}
