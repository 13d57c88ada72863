#!/usr/bin/env nextflow
// agentomics — Nextflow DSL2 pipeline (mirrors workflows/Snakefile).
//
//   prepare-data ─► every lineage, each iteration:
//                   agent-step (plan..code) ─► train-run ─► agent-step analyze ─► reflect
//                   ─► decide (reflect --decide: the pipeline's iteration and time budgets)
//                   (until the decision is not "continue")
//                ─► agentomics-select on every lineage's final (decided) state (lineages.json)
//                ─► package-model of the chosen lineage ─► predict + evaluate
//                ─► agentomics-report (report.html, report.md, MultiQC content)
//
//   nextflow run workflows/main.nf --help                   (the parameters; --help NAME: one)
//   nextflow run workflows/main.nf -profile test            (bundled slice, builtin agent)
//   nextflow run workflows/main.nf --train t.csv --valid v.csv --test h.csv --outdir results/x
//   nextflow run workflows/main.nf --class 'enhancer=pos.fa,non_enhancer=neg.fa' --test_class 'enhancer=p2.fa,non_enhancer=n2.fa'
// Parameters: workflows/nextflow.config, described in nextflow_schema.json and
// checked against it here before any task runs (lib/AgentomicsParams.groovy);
// the modules read them only as task.ext.args set in the config (nf-core
// style), and the tools come from PATH (bin_dir is put first on every task's PATH).
// Outputs under --outdir: model.tar.gz, test_metrics.json, test_predictions.tsv,
// history.json, report.html, report.md, agentomics_mqc.json,
// agentomics_general_stats_mqc.json, lineages.json, lineage<L>/summary.json, data/,
// lineage<L>/iter<I>/{agent,analyzed,reflected,decided}/, lineage<L>/runs/iter<I>/.
// The loop: ONE recursion carries every lineage (LINEAGES.recurse(starts).until
// {...}, modules/iteration.nf), so neither the iterations nor the lineages have
// an upper limit; each lineage advances at its own pace.
nextflow.enable.dsl = 2
// The iteration loop is a recursion, a preview feature of Nextflow. The flag is
// set on its field, not through its setter, which would print "NEXTFLOW
// RECURSION IS A PREVIEW FEATURE" on every run (the README says the loop
// depends on it).
nextflow.preview.@recursion = true

include { PREPARE_DATA   } from './modules/prepare_data'
include { LINEAGES       } from './modules/iteration'
include { SELECT_LINEAGE } from './modules/select_lineage'
include { PACKAGE_MODEL  } from './modules/package_model'
include { PREDICT        } from './modules/predict'
include { EVALUATE       } from './modules/evaluate'
include { REPORT         } from './modules/report'

// ---- the parameters, before anything runs: --help, then the schema's checks (exit 2) ----
def schema = new AgentomicsParams(file("${projectDir}/nextflow_schema.json"))
if (params.help) {
    def one = params.help instanceof Boolean ? null : params.help.toString().replaceFirst(/^--/, '')
    def text = one ? schema.helpOne(one) : schema.help(workflow.manifest.version)
    if (text == null) {
        def near = schema.closest(one)
        exit 2, "agentomics: --help ${one}: no such parameter" + (near ? " (did you mean --help ${near}?)" : '') + "; --help lists them"
    }
    print text
    exit 0
}
def problems = schema.validate(params, workflow.launchDir)
if (problems) {
    exit 2, "agentomics: ${problems.size() == 1 ? 'a parameter is' : "${problems.size()} parameters are"} not valid:\n  " +
            problems.join('\n  ') + "\n(nextflow run workflows/main.nf --help lists the parameters; --help NAME explains one)"
}
def outdir = params.outdir ?: "results/${params.dataset}"
// publish_mode auto or link: the config chose hard links when it guessed that
// the work directory shares --outdir's filesystem; here the real work
// directory is known, and a link that cannot be made is an error now, not
// after the first task
if (params.publish_mode in ['auto', 'link']) {
    def dev = { java.nio.file.Path p ->
        def f = p.toAbsolutePath().toFile()
        while (f != null && !f.exists()) f = f.parentFile
        f == null ? null : java.nio.file.Files.getAttribute(f.toPath(), 'unix:dev')
    }
    def guess = dev(workflow.launchDir.resolve(System.getenv('NXF_WORK') ?: 'work'))
    def out = dev(workflow.launchDir.resolve(outdir.toString()))
    def work = dev(workflow.workDir)
    if (work != out && (params.publish_mode == 'link' || guess == out))
        exit 2, "agentomics: --publish_mode ${params.publish_mode}: the work directory ${workflow.workDir} and --outdir ${outdir} " +
                "are on different filesystems, so outputs cannot be hard-linked; give --publish_mode copy (or NXF_WORK=${workflow.workDir})"
}

def optFiles(v) { v ? v.toString().tokenize(',').collect { file(it.trim(), checkIfExists: true) } : [] }

// Per-class inputs (--class, --valid_class, --test_class): 'NAME=FILE[,NAME=FILE...]'
// (a name may repeat) or, from a -params-file, a map NAME: FILE or NAME: [FILE, ...]
// (the syntax is checked with the other parameters above). Ordered by class
// name (stable), as the Snakemake rule orders them. Returns [[option, name],
// file] pairs; the files are staged by PREPARE_DATA.
def classInputs(key, opt) {
    def v = params[key]
    if (v == null || v == '' || v == false) return []
    def pairs = []
    if (v instanceof Map) {
        v.each { name, files -> [files].flatten().findAll { it }.each { f -> pairs << [name.toString(), f.toString()] } }
    } else {
        v.toString().tokenize(',').each { item ->
            def spec = item.trim()
            def i = spec.indexOf('=')
            pairs << [spec.substring(0, i).trim(), spec.substring(i + 1).trim()]
        }
    }
    pairs.sort { a, b -> a[0] <=> b[0] }.collect { name, f -> [[opt, name], file(f, checkIfExists: true)] }
}

// The CRAM reference and whichever of its indexes (.fai, .gzi) exist beside it.
def referenceIndex(v) { v ? ['.fai', '.gzi'].collect { file("${v}${it}") }.findAll { it.exists() } : [] }

def jsonText(v) { groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(v)) + '\n' }

workflow {
    def classes = classInputs('class', '--class') + classInputs('valid_class', '--valid-class') + classInputs('test_class', '--test-class')
    def meta = [id: params.dataset]
    def hasTest = params.test || params.test_class
    PREPARE_DATA(Channel.value([meta, optFiles(params.train), optFiles(params.valid), optFiles(params.test),
                                optFiles(params.description), optFiles(params.labels), optFiles(params.reference), referenceIndex(params.reference),
                                classes.collect { it[0] }, classes.collect { it[1] }]))

    // One recursion for every lineage (modules/iteration.nf). Its first input
    // is one value: the list of every lineage's start item (iteration 0, no
    // state). An item goes round again until its lineage stops; the loop
    // ends when every lineage has stopped (the until-closure counts them).
    def nl = params.lineages as int
    def stopped = new java.util.concurrent.atomic.AtomicInteger(0)
    // first(): recurse takes a value; join gives a queue channel of one item
    starts = PREPARE_DATA.out.agent.join(PREPARE_DATA.out.selection).first()
        .map { m, agent, sel -> (1..nl).collect { l -> [m + [lineage: l, iteration: 0], agent, [], [], [], false, [], sel] } }
    LINEAGES.recurse(starts).until { item -> item[5] && stopped.incrementAndGet() >= nl }
    finished = LINEAGES.out.lineage.filter { item -> item[5] }          // one per lineage: its final item

    // agentomics-select on every final (decided) state; Groovy reads only its
    // choice (and splits its records into the per-lineage summaries).
    SELECT_LINEAGE(finished.toSortedList { x, y -> x[0].lineage <=> y[0].lineage }
        .map { items -> [meta, items.collect { it[0] }, items.collect { it[6] }] })
    selection = SELECT_LINEAGE.out.selection.map { m, f -> new groovy.json.JsonSlurper().parse(f.toFile()) }
    chosen = finished.map { item -> [item[0].lineage, item[0], item[6], item[3], item[1], item[7]] }
        .join(selection.map { sel -> [sel.chosen as int] })               // lineage, meta, final state, runs, data, slice
    PACKAGE_MODEL(chosen.map { l, m, state, runs, data, slice -> [m, state, runs, data, slice] })
    selection.flatMap { sel -> sel.lineages }.map { rec -> [rec.lineage as int, rec] }
        .join(finished.map { item -> [item[0].lineage, item[3]] })
        .collectFile(storeDir: outdir) { l, rec, runs ->
            def summary = new TreeMap(rec.findAll { k, v -> k != 'state' })
            summary.final_state = rec.state
            summary.runs = runs.collect { "lineage${l}/runs/${it.name}".toString() }
            ["lineage${l}/summary.json", jsonText(summary)]
        }

    versions = PREPARE_DATA.out.versions
        .mix(LINEAGES.out.lineage.flatMap { item -> item[4].collect { v -> [item[0], v] } })
        .mix(SELECT_LINEAGE.out.versions, PACKAGE_MODEL.out.versions)
    // the files the report reads beside the states: the package (what it
    // holds: an ensemble or the best run) and the held-out test results
    def packageFile = PACKAGE_MODEL.out.model.map { m, model -> model }
    def testFiles = packageFile.map { [it] }
    def heldout = Channel.value([])
    if (hasTest) {
        PREDICT(PACKAGE_MODEL.out.model.map { m, model -> [[id: m.id], model] }.join(PREPARE_DATA.out.heldout))
        EVALUATE(PREDICT.out.predictions.join(PREPARE_DATA.out.heldout))
        versions = versions.mix(PREDICT.out.versions, EVALUATE.out.versions)
        testFiles = EVALUATE.out.metrics.join(PREDICT.out.predictions).map { m, metrics, preds -> [metrics, preds] }
            .combine(packageFile).map { metrics, preds, model -> [metrics, preds, model] }
        heldout = PREPARE_DATA.out.heldout.map { m, h -> h }
    }

    // The report, last: every lineage's final state and runs, the data, the
    // choice and the held-out test results (modules/report.nf). Each part is
    // wrapped in a list so that combine keeps it one element.
    def lineageParts = finished.toSortedList { x, y -> x[0].lineage <=> y[0].lineage }.map { items ->
        [items.collect { it[0] }, items.collect { it[6] },
         items.collectMany { item -> item[3].collect { r -> [item[0].lineage, r.name] } }, items.collectMany { it[3] }] }
    REPORT(SELECT_LINEAGE.out.selection
        .combine(lineageParts.map { [it] }).map { m, sel, parts -> [m, sel] + parts }
        .combine(PREPARE_DATA.out.agent.map { m, a -> [a] })
        .combine(heldout.map { [it] })
        .combine(testFiles.map { [it] }))
    versions = versions.mix(REPORT.out.versions)
    // one entry per distinct process and version: the same task of every iteration and lineage writes the same text
    // and the workflow's own line: Nextflow and the pipeline (htslib is in PREPARE_DATA's, the tools link one)
    versions.map { m, v -> v.text.endsWith('\n') ? v.text : v.text + '\n' }.unique()
        .mix(Channel.of("\"Workflow\":\n    Nextflow: ${workflow.nextflow.version.toString()}\n    agentomics: ${workflow.manifest.version}\n".toString()))
        .collectFile(name: 'versions.yml', storeDir: "${outdir}/pipeline_info", sort: true)
}
