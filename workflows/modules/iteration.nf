// Every lineage's iteration loop in ONE recursion (nextflow.preview.recursion,
// set in main.nf):
//   agent-step plan..code ─► train-run ─► agent-step analyze ─► reflect ─► decide
// main.nf runs it as
//   LINEAGES.recurse(starts).until { all lineages stopped }
// Nextflow instantiates this body once; its input is the first value (the
// LIST of every lineage's start item) mixed with its own output fed back, so
// every lineage's item goes round again after its reflect, independently of
// the other lineages (one may be at iteration 4 while another still trains
// its second), until the decision is not "continue". DECIDE makes it
// (agentomics-reflect --decide) with the pipeline's iteration and time
// budgets; the next iteration continues REFLECT's state, which carries no
// budget of its own, so raising --iterations or --time_budget on -resume
// re-runs only the DECIDE tasks and continues each lineage where it stopped.
//
// Item (the input and output have the same shape):
//   [meta, data, state, runs, versions, stop, final, selection]
//   meta      [id: dataset, lineage: L, iteration: I], I the lineage's last
//             finished iteration (0 before the first)
//   data      the prepared agent data (data/agent)
//   state     iteration I's reflected state, the next iteration's input ([] before the first)
//   runs      the run directories of iterations 1..I
//   versions  the versions.yml files of iteration I's tasks ([] before the first)
//   stop      DECIDE decided to stop after iteration I
//   final     iteration I's decided state (the lineage's final state when stop; [] before the first)
//   selection the selection slice (data/selection), given to TRAIN_RUN only
// Items of stopped lineages that come round again are dropped at the input;
// the output carries every iteration's item, the stopped one last.
//
// With several lineages in flight, nothing pairs items by arrival order:
// every process takes and emits tuple val(meta), ..., and the steps are
// joined by meta (the same map for one lineage's iteration), the versions
// files too. Only per-item operators are used (flatMap, filter, map, join),
// as the body's channels never close while the loop runs.
include { AGENT_STEP } from './agent_step'
include { TRAIN_RUN  } from './train_run'
include { ANALYZE    } from './analyze'
include { REFLECT    } from './reflect'
include { DECIDE     } from './decide'

workflow LINEAGES {
    take:
    items

    main:
    // the lineages that go on (the first round's value is the list of every lineage's start item)
    continuing = items
        .flatMap { x -> x[0] instanceof Map ? [x] : x }
        .filter { meta, data, state, runs, versions, stop, fin, sel -> !stop }
        .map { meta, data, state, runs, versions, stop, fin, sel -> [meta + [iteration: meta.iteration + 1], data, state, runs, sel] }
    AGENT_STEP(continuing.map { meta, data, state, runs, sel -> [meta, data, state] })
    base = continuing.map { meta, data, state, runs, sel -> [meta, data, runs, sel] }
    a = AGENT_STEP.out.state.join(base)                                  // meta, st, data, runs, sel
    TRAIN_RUN(a.map { meta, st, data, runs, sel -> [meta, data, st, sel] })
    b = TRAIN_RUN.out.run.join(a)                                        // meta, run, st, data, runs, sel
    ANALYZE(b.map { meta, run, st, data, runs, sel -> [meta, data, st, run] })
    c = ANALYZE.out.state.join(b)                                        // meta, an, run, st, data, runs, sel
    REFLECT(c.map { meta, an, run, st, data, runs, sel -> [meta, data, an, run] })
    DECIDE(REFLECT.out.state)
    versions = AGENT_STEP.out.versions.join(TRAIN_RUN.out.versions).join(ANALYZE.out.versions).join(REFLECT.out.versions)
        .join(DECIDE.out.versions)
    next = REFLECT.out.state.join(DECIDE.out.state).join(c).join(versions)   // meta, ref, dec, an, run, st, data, runs, sel, v1..v5
        .map { meta, ref, dec, an, run, st, data, runs, sel, v1, v2, v3, v4, v5 ->
            def decision = new groovy.json.JsonSlurper().parse(dec.resolve('decision.json').toFile()).decision
            [meta, data, ref, runs + [run], [v1, v2, v3, v4, v5], decision != 'continue', dec, sel]
        }

    emit:
    lineage = next
}
