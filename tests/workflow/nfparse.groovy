// tests/workflow/nfparse.groovy — parses Nextflow scripts and configs with
// Groovy's own parser up to the conversion phase (syntax only), for
// tests/workflow/nextflow.sh parse. `nextflow lint` cannot be used with the
// Nextflow that Maven Central provides: nf-lang is there only as 25.04.0, the
// only release whose other dependencies are all there is 25.04.4, and with
// that pair `nextflow lint` stops with a NullPointerException on a file that
// has only warnings (README: Install). Prints "ok FILE" or "error FILE: ...";
// exit 1 when any file does not parse.
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases

int bad = 0
args.each { f ->
    def cu = new CompilationUnit()
    cu.addSource(new File(f))
    try {
        cu.compile(Phases.CONVERSION)
        println "ok ${f}"
    } catch (MultipleCompilationErrorsException e) {
        bad++
        println "error ${f}: ${e.message.readLines().findAll { it.trim() }.drop(1).take(3).join(' | ')}"
    }
}
System.exit(bad ? 1 : 0)
