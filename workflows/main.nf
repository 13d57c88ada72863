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
nextflow.enable.dsl = 2

include { PREPARE_DATA  } from './modules/prepare_data'
include { PACKAGE_MODEL } from './modules/package_model'
include { PREDICT       } from './modules/predict'
include { EVALUATE      } from './modules/evaluate'
include { ITERATION as ITER1; ITERATION as ITER2; ITERATION as ITER3; ITERATION as ITER4; ITERATION as ITER5;
          ITERATION as ITER6; ITERATION as ITER7; ITERATION as ITER8; ITERATION as ITER9; ITERATION as ITER10 } from './modules/iteration'

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
    if ((params.iterations as int) > 10) error "agentomics: --iterations is at most 10 in this pipeline (the loop is unrolled)"

    def meta = [id: params.dataset]
    def outdir = params.outdir ?: "results/${params.dataset}"
    def hasTest = params.test || params.test_class
    PREPARE_DATA(Channel.value([meta, optFiles(params.train), optFiles(params.valid), optFiles(params.test),
                                optFiles(params.description), optFiles(params.labels), optFiles(params.reference), referenceIndex(params.reference),
                                classes.collect { it[0] }, classes.collect { it[1] }]))

    lineages = PREPARE_DATA.out.agent.flatMap { m, agent -> (1..(params.lineages as int)).collect { l -> [l, 1, agent, [], [], false] } }
    versions = PREPARE_DATA.out.versions
    def n = params.iterations as int  // unrolled loop: ITERk runs only within the budget; stopped lineages pass through
    if (n >= 1) { ITER1(lineages); lineages = ITER1.out.lineages; versions = versions.mix(ITER1.out.versions) }
    if (n >= 2) { ITER2(lineages); lineages = ITER2.out.lineages; versions = versions.mix(ITER2.out.versions) }
    if (n >= 3) { ITER3(lineages); lineages = ITER3.out.lineages; versions = versions.mix(ITER3.out.versions) }
    if (n >= 4) { ITER4(lineages); lineages = ITER4.out.lineages; versions = versions.mix(ITER4.out.versions) }
    if (n >= 5) { ITER5(lineages); lineages = ITER5.out.lineages; versions = versions.mix(ITER5.out.versions) }
    if (n >= 6) { ITER6(lineages); lineages = ITER6.out.lineages; versions = versions.mix(ITER6.out.versions) }
    if (n >= 7) { ITER7(lineages); lineages = ITER7.out.lineages; versions = versions.mix(ITER7.out.versions) }
    if (n >= 8) { ITER8(lineages); lineages = ITER8.out.lineages; versions = versions.mix(ITER8.out.versions) }
    if (n >= 9) { ITER9(lineages); lineages = ITER9.out.lineages; versions = versions.mix(ITER9.out.versions) }
    if (n >= 10) { ITER10(lineages); lineages = ITER10.out.lineages; versions = versions.mix(ITER10.out.versions) }

    // Finished lineages: a summary each; the best by validation (ties: lowest lineage).
    records = lineages.map { l, next, d, state, runs, stop ->
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
    versions.unique().collectFile(name: 'versions.yml', storeDir: "${outdir}/pipeline_info", sort: true)
}
