// agentomics-prepare-data: normalised agent data (data/agent), the selection
// slice (data/selection: train-run only) and the held-out test (data/heldout,
// only when a test set is given). Every input file is a
// staged path (never a host path), so the module works in containers and on
// clusters: train/valid/test files under in/<kind>/<n>/ (n numbers the files,
// so equal names cannot collide), description and labels under in/<kind>/,
// the CRAM reference and its index (.fai/.gzi, when present) together under
// in/reference/, per-class files under in/class/<n>/. class_opts holds one
// [option, class name] pair per per-class file, in the order of class_files
// (option: --class, --valid-class or --test-class). The other options (column
// and label options, --u-to-t, --strict, prepare_args) come as task.ext.args
// from workflows/nextflow.config, in the order of the Snakemake rule
// (workflows/rules/common.smk). Optional inputs are empty lists.
def shq(v) { "'" + v.toString().replace("'", "'\\''") + "'" }
def fileList(v) { [v].flatten().findAll { it } }
def fileOpts(opt, v) { fileList(v).collect { f -> "${opt} ${shq(f)}" } }

process PREPARE_DATA {
    tag "${meta.id}"
    label 'process_medium'

    input:
    tuple val(meta), path(train, stageAs: 'in/train/?/*'), path(valid, stageAs: 'in/valid/?/*'), path(test, stageAs: 'in/test/?/*'),
          path(description, stageAs: 'in/description/*'), path(labels, stageAs: 'in/labels/*'),
          path(reference, stageAs: 'in/reference/*'), path(reference_index, stageAs: 'in/reference/*'),
          val(class_opts), path(class_files, stageAs: 'in/class/?/*')

    output:
    tuple val(meta), path('data/agent'),   emit: agent
    tuple val(meta), path('data/selection'), emit: selection
    tuple val(meta), path('data/heldout'), emit: heldout, optional: true
    tuple val(meta), path('versions.yml'), emit: versions

    script:
    def args = task.ext.args ?: ''
    def opts = fileOpts('--train', train) + fileOpts('--valid', valid) + fileOpts('--test', test)
    opts += fileOpts('--labels', labels) + fileOpts('--description', description) + fileOpts('--reference', reference)
    [class_opts, fileList(class_files)].transpose().each { o, f -> opts << "${o[0]} ${shq("${o[1]}=${f}")}" }
    """
    agentomics-prepare-data ${opts.join(' ')} ${args} --out data --threads ${task.cpus}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        agentomics-prepare-data: \$(agentomics-prepare-data --version | head -1)
        htslib: \$(agentomics-prepare-data --version | sed -n 's/^Using htslib //p')
    END_VERSIONS
    """

    stub:
    """
    mkdir -p data/agent data/heldout data/selection
    touch data/agent/train.tsv data/agent/dataset.json data/heldout/test.tsv data/selection/selection.json
    printf '"%s":\\n    agentomics-prepare-data: stub\\n' "${task.process}" > versions.yml
    """
}
