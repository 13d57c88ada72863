// tests/workflow/nfparse.groovy — parses Nextflow scripts and configs with
// Groovy's own parser up to the conversion phase (syntax only), for
// tests/workflow/nextflow.sh parse. `nextflow lint` cannot be used: with
// nf-lang 25.04.0 (the newest on Maven Central) beside Nextflow 25.04.4 it
// stops on every file with a NullPointerException in its error reporting,
// whether the file is valid or not. Prints "ok FILE" or "error FILE: ...";
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
