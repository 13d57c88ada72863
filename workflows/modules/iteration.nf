// One lineage's iteration loop, run with Nextflow's recursion
// (nextflow.preview.recursion, set in main.nf):
//   agent-step plan..code ─► train-run ─► agent-step analyze ─► reflect
// main.nf calls it once per lineage as
//   LINEAGE<L>.recurse(first).until { it[5] }
// so every output item is fed back as the next round's input until reflect's
// decision is not "continue" or the iteration budget (--iterations) is spent.
// Item (input and output have the same shape): [lineage, iteration (the next
// one), agent data, state ([] before the first), runs (list), stop, versions
// (the round's versions.yml files)]. The output channel carries one item per
// round; its last item is the lineage's final state.
//
// Only per-item operators are used here: map and join (by "lineage:iteration"),
// and merge for the versions files. They run again for every round because a
// recursion carries one lineage, so each channel holds at most one item per
// round and round k+1 starts only after round k's reflect. Aggregating
// operators (collect, toList, groupTuple) would wait for the end of the loop;
// that is why the lineages are separate recursions and not one.
include { AGENT_STEP } from './agent_step'
include { TRAIN_RUN  } from './train_run'
include { ANALYZE    } from './analyze'
include { REFLECT    } from './reflect'

def key(l, i) { "${l}:${i}".toString() }

workflow LINEAGE {
    take:
    start

    main:
    AGENT_STEP(start.map { l, i, d, s, r, stop, v -> [l, i, d, s] })
    base = start.map { l, i, d, s, r, stop, v -> [key(l, i), l, i, d, r] }
    a = AGENT_STEP.out.state.map { l, i, st -> [key(l, i), st] }.join(base)           // k, st, l, i, d, r
    TRAIN_RUN(a.map { k, st, l, i, d, r -> [l, i, d, st] })
    b = TRAIN_RUN.out.run.map { l, i, run -> [key(l, i), run] }.join(a)               // k, run, st, l, i, d, r
    ANALYZE(b.map { k, run, st, l, i, d, r -> [l, i, d, st, run] })
    c = ANALYZE.out.state.map { l, i, an -> [key(l, i), an] }.join(b)                  // k, an, run, st, l, i, d, r
    REFLECT(c.map { k, an, run, st, l, i, d, r -> [l, i, d, an, run] })
    versions = AGENT_STEP.out.versions.merge(TRAIN_RUN.out.versions).merge(ANALYZE.out.versions).merge(REFLECT.out.versions)
    next = REFLECT.out.state.map { l, i, ref -> [key(l, i), ref] }.join(c).merge(versions)
        .map { k, ref, an, run, st, l, i, d, r, v1, v2, v3, v4 ->
            def decision = new groovy.json.JsonSlurper().parse(ref.resolve('decision.json').toFile()).decision
            [l, i + 1, d, ref, r + [run], decision != 'continue' || i >= (params.iterations as int), [v1, v2, v3, v4]]
        }

    emit:
    lineage = next
}
