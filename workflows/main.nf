#!/usr/bin/env nextflow
// agentomics — Nextflow DSL2 pipeline (mirrors workflows/Snakefile).
//
//   prepare-data ─► per lineage, per iteration:
//                   agent-step (plan..code) ─► train-run ─► agent-step analyze ─► reflect
//                   (until reflect's decision is not "continue" or the budget)
//                ─► best lineage by validation ─► package-model ─► predict + evaluate
//
//   nextflow run workflows/main.nf -profile test            (bundled slice, builtin agent)
//   nextflow run workflows/main.nf --train t.csv --valid v.csv --test h.csv --outdir results/x
//   nextflow run workflows/main.nf --class 'enhancer=pos.fa,non_enhancer=neg.fa' --test_class 'enhancer=p2.fa,non_enhancer=n2.fa'
// Parameters: workflows/nextflow.config and nextflow_schema.json.
// Outputs under --outdir: model.tar.gz, test_metrics.json, test_predictions.tsv,
// history.json, report.md, lineages.json, lineage<L>/summary.json, data/,
// lineage<L>/iter<I>/{agent,analyzed,reflected}/, lineage<L>/runs/iter<I>/.
// The loop: one recursion per lineage (LINEAGE<L>.recurse(...).until {...}), so
// the iteration count has no limit but --lineages is at most 16 (the number
// of LINEAGE<L> aliases below; Nextflow cannot create them at run time).
nextflow.enable.dsl = 2
nextflow.preview.recursion = true   // the iteration loop (modules/iteration.nf)

include { PREPARE_DATA  } from './modules/prepare_data'
include { PACKAGE_MODEL } from './modules/package_model'
include { PREDICT       } from './modules/predict'
include { EVALUATE      } from './modules/evaluate'
include { LINEAGE as LINEAGE1; LINEAGE as LINEAGE2; LINEAGE as LINEAGE3; LINEAGE as LINEAGE4;
          LINEAGE as LINEAGE5; LINEAGE as LINEAGE6; LINEAGE as LINEAGE7; LINEAGE as LINEAGE8;
          LINEAGE as LINEAGE9; LINEAGE as LINEAGE10; LINEAGE as LINEAGE11; LINEAGE as LINEAGE12;
          LINEAGE as LINEAGE13; LINEAGE as LINEAGE14; LINEAGE as LINEAGE15; LINEAGE as LINEAGE16 } from './modules/iteration'

def optFiles(v) { v ? v.toString().tokenize(',').collect { file(it.trim(), checkIfExists: true) } : [] }

// Per-class inputs (--class, --valid_class, --test_class): 'NAME=FILE[,NAME=FILE...]'
// (a name may repeat) or, from a -params-file, a map NAME: FILE or NAME: [FILE, ...].
// Ordered by class name (stable), as the Snakemake rule orders them. Returns
// [[option, name], file] pairs; the files are staged by PREPARE_DATA.
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
            if (i < 1 || i == spec.length() - 1) error "agentomics: --${key} expects NAME=FILE[,NAME=FILE...], got '${spec}'"
            pairs << [spec.substring(0, i).trim(), spec.substring(i + 1).trim()]
        }
    }
    pairs.sort { a, b -> a[0] <=> b[0] }.collect { name, f -> [[opt, name], file(f, checkIfExists: true)] }
}

// The CRAM reference and whichever of its indexes (.fai, .gzi) exist beside it.
def referenceIndex(v) { v ? ['.fai', '.gzi'].collect { file("${v}${it}") }.findAll { it.exists() } : [] }

// A lineage's first item for the recursion (shape: modules/iteration.nf).
def first(data, l) { data.map { d -> [l, 1, d, [], [], false, []] } }

def bestValue(rec) {
    def v = rec.best instanceof Map ? rec.best.value : null
    (v instanceof Number && !(v as double).isNaN() && !(v as double).isInfinite()) ? (v as double) : null
}

// The chosen lineage: the best validation value (history.json best.value; all
// metrics are higher-is-better), ties to the lowest lineage; lineage 1 when none has one.
def choose(recs) {
    def pick = recs[0]
    recs.drop(1).each { r -> def v = bestValue(r); if (v != null && (bestValue(pick) == null || v > bestValue(pick))) pick = r }
    pick
}

workflow {
    def classes = classInputs('class', '--class') + classInputs('valid_class', '--valid-class') + classInputs('test_class', '--test-class')
    if (!params.train && !params['class']) error "agentomics: --train or --class is required (or -profile test)"
    if ((params.iterations as int) < 1 || (params.lineages as int) < 1) error "agentomics: --iterations and --lineages must be at least 1"
    if ((params.lineages as int) > 16) error "agentomics: --lineages is at most 16 in this pipeline (one recursion per lineage)"

    def meta = [id: params.dataset]
    def outdir = params.outdir ?: "results/${params.dataset}"
    def hasTest = params.test || params.test_class
    PREPARE_DATA(Channel.value([meta, optFiles(params.train), optFiles(params.valid), optFiles(params.test),
                                optFiles(params.description), optFiles(params.labels), optFiles(params.reference), referenceIndex(params.reference),
                                classes.collect { it[0] }, classes.collect { it[1] }]))

    // One recursion per lineage: each feeds its reflect output back until the
    // stop decision or the budget; its last item is the finished lineage.
    // Lineages run in parallel, each at its own pace.
    data = PREPARE_DATA.out.agent.map { m, agent -> agent }   // a value channel, as recurse requires
    def nl = params.lineages as int
    def stopped = { it[5] }
    lineages = Channel.empty()
    versions = PREPARE_DATA.out.versions
    if (nl >= 1) { LINEAGE1.recurse(first(data, 1)).until(stopped); lineages = lineages.mix(LINEAGE1.out.lineage.last()); versions = versions.mix(LINEAGE1.out.lineage.flatMap { it[6] }) }
    if (nl >= 2) { LINEAGE2.recurse(first(data, 2)).until(stopped); lineages = lineages.mix(LINEAGE2.out.lineage.last()); versions = versions.mix(LINEAGE2.out.lineage.flatMap { it[6] }) }
    if (nl >= 3) { LINEAGE3.recurse(first(data, 3)).until(stopped); lineages = lineages.mix(LINEAGE3.out.lineage.last()); versions = versions.mix(LINEAGE3.out.lineage.flatMap { it[6] }) }
    if (nl >= 4) { LINEAGE4.recurse(first(data, 4)).until(stopped); lineages = lineages.mix(LINEAGE4.out.lineage.last()); versions = versions.mix(LINEAGE4.out.lineage.flatMap { it[6] }) }
    if (nl >= 5) { LINEAGE5.recurse(first(data, 5)).until(stopped); lineages = lineages.mix(LINEAGE5.out.lineage.last()); versions = versions.mix(LINEAGE5.out.lineage.flatMap { it[6] }) }
    if (nl >= 6) { LINEAGE6.recurse(first(data, 6)).until(stopped); lineages = lineages.mix(LINEAGE6.out.lineage.last()); versions = versions.mix(LINEAGE6.out.lineage.flatMap { it[6] }) }
    if (nl >= 7) { LINEAGE7.recurse(first(data, 7)).until(stopped); lineages = lineages.mix(LINEAGE7.out.lineage.last()); versions = versions.mix(LINEAGE7.out.lineage.flatMap { it[6] }) }
    if (nl >= 8) { LINEAGE8.recurse(first(data, 8)).until(stopped); lineages = lineages.mix(LINEAGE8.out.lineage.last()); versions = versions.mix(LINEAGE8.out.lineage.flatMap { it[6] }) }
    if (nl >= 9) { LINEAGE9.recurse(first(data, 9)).until(stopped); lineages = lineages.mix(LINEAGE9.out.lineage.last()); versions = versions.mix(LINEAGE9.out.lineage.flatMap { it[6] }) }
    if (nl >= 10) { LINEAGE10.recurse(first(data, 10)).until(stopped); lineages = lineages.mix(LINEAGE10.out.lineage.last()); versions = versions.mix(LINEAGE10.out.lineage.flatMap { it[6] }) }
    if (nl >= 11) { LINEAGE11.recurse(first(data, 11)).until(stopped); lineages = lineages.mix(LINEAGE11.out.lineage.last()); versions = versions.mix(LINEAGE11.out.lineage.flatMap { it[6] }) }
    if (nl >= 12) { LINEAGE12.recurse(first(data, 12)).until(stopped); lineages = lineages.mix(LINEAGE12.out.lineage.last()); versions = versions.mix(LINEAGE12.out.lineage.flatMap { it[6] }) }
    if (nl >= 13) { LINEAGE13.recurse(first(data, 13)).until(stopped); lineages = lineages.mix(LINEAGE13.out.lineage.last()); versions = versions.mix(LINEAGE13.out.lineage.flatMap { it[6] }) }
    if (nl >= 14) { LINEAGE14.recurse(first(data, 14)).until(stopped); lineages = lineages.mix(LINEAGE14.out.lineage.last()); versions = versions.mix(LINEAGE14.out.lineage.flatMap { it[6] }) }
    if (nl >= 15) { LINEAGE15.recurse(first(data, 15)).until(stopped); lineages = lineages.mix(LINEAGE15.out.lineage.last()); versions = versions.mix(LINEAGE15.out.lineage.flatMap { it[6] }) }
    if (nl >= 16) { LINEAGE16.recurse(first(data, 16)).until(stopped); lineages = lineages.mix(LINEAGE16.out.lineage.last()); versions = versions.mix(LINEAGE16.out.lineage.flatMap { it[6] }) }

    // Finished lineages: a summary each; the best by validation (ties: lowest lineage).
    records = lineages.map { l, next, d, state, runs, stop, v ->
        def history = new groovy.json.JsonSlurper().parse(state.resolve('history.json').toFile())
        def decision = new groovy.json.JsonSlurper().parse(state.resolve('decision.json').toFile())
        [lineage: l, iterations: next - 1, best: history.best, decision: decision, state: state, runs: runs]
    }
    all = records.toSortedList { a, b -> a.lineage <=> b.lineage }
    chosen = all.map { recs -> choose(recs) }
    records.collectFile(storeDir: outdir) { r ->
        ["lineage${r.lineage}/summary.json", groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(r.findAll { k, v -> k != 'state' && k != 'runs' } + [final_state: "lineage${r.lineage}/iter${r.iterations}/reflected".toString(), runs: r.runs.collect { "lineage${r.lineage}/runs/${it.name}".toString() }])) + '\n']
    }
    all.map { recs -> def pick = choose(recs)
       
        groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson([chosen: pick.lineage, chosen_best: pick.best,
            lineages: recs.collect { r -> [lineage: r.lineage, iterations: r.iterations, best: r.best, decision: r.decision] }])) + '\n'
    }.collectFile(name: 'lineages.json', storeDir: outdir)

    PACKAGE_MODEL(chosen.map { r -> [r.lineage, r.state, r.runs] })
    versions = versions.mix(PACKAGE_MODEL.out.versions)
    if (hasTest) {
        PREDICT(PACKAGE_MODEL.out.model, PREPARE_DATA.out.heldout)
        EVALUATE(PREDICT.out.predictions.join(PREPARE_DATA.out.heldout))
        versions = versions.mix(PREDICT.out.versions, EVALUATE.out.versions)
    }
    // one entry per distinct process and version: the same task of every iteration writes the same text
    versions.map { it.text.endsWith('\n') ? it.text : it.text + '\n' }.unique().collectFile(name: 'versions.yml', storeDir: "${outdir}/pipeline_info", sort: true)
}
