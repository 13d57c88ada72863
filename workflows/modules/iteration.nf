// One iteration of every still-running lineage:
//   agent-step plan..code ─► train-run ─► agent-step analyze ─► reflect
// Items: [lineage, iteration (the next one), agent data, state ([] before the
// first), runs (list), stop]. Stopped lineages pass through untouched, so
// main.nf can chain this sub-workflow up to the iteration budget (the loop is
// unrolled: Nextflow 25.04's recursion accepts value inputs only and re-runs
// processes but not operators, so it cannot carry N lineages).
include { AGENT_STEP } from './agent_step'
include { TRAIN_RUN  } from './train_run'
include { ANALYZE    } from './analyze'
include { REFLECT    } from './reflect'

def key(l, i) { "${l}:${i}".toString() }

workflow ITERATION {
    take:
    lineages

    main:
    active = lineages.filter { !it[5] }
    AGENT_STEP(active.map { l, i, d, s, r, stop -> [l, i, d, s] })
    base = active.map { l, i, d, s, r, stop -> [key(l, i), l, i, d, r] }
    a = AGENT_STEP.out.state.map { l, i, st -> [key(l, i), st] }.join(base)           // k, st, l, i, d, r
    TRAIN_RUN(a.map { k, st, l, i, d, r -> [l, i, d, st] })
    b = TRAIN_RUN.out.run.map { l, i, run -> [key(l, i), run] }.join(a)               // k, run, st, l, i, d, r
    ANALYZE(b.map { k, run, st, l, i, d, r -> [l, i, d, st, run] })
    c = ANALYZE.out.state.map { l, i, an -> [key(l, i), an] }.join(b)                  // k, an, run, st, l, i, d, r
    REFLECT(c.map { k, an, run, st, l, i, d, r -> [l, i, d, an, run] })
    next = REFLECT.out.state.map { l, i, ref -> [key(l, i), ref] }.join(c)
        .map { k, ref, an, run, st, l, i, d, r ->
            def decision = new groovy.json.JsonSlurper().parse(ref.resolve('decision.json').toFile()).decision
            [l, i + 1, d, ref, r + [run], decision != 'continue' || i >= params.iterations]
        }
    versions = AGENT_STEP.out.versions.mix(TRAIN_RUN.out.versions, ANALYZE.out.versions, REFLECT.out.versions)

    emit:
    lineages = next.mix(lineages.filter { it[5] })
    versions = versions
}
