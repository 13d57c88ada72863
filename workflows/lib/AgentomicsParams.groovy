// AgentomicsParams — the pipeline's parameters checked against
// workflows/nextflow_schema.json before any task runs, and the --help text
// made from it. Nextflow loads the classes of workflows/lib/ by itself.
//
// The nf-schema plugin would do this, but plugins are downloaded at run time,
// which these machines (and many clusters) cannot; this class uses only the
// JSON parser Groovy ships. It understands the subset of JSON Schema the
// schema uses:
//   type (string, integer, number, boolean, object, array, null, or a list),
//   enum, pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
//   format: file-path, directory-path, file-path-list (comma-separated files),
//     class-files ('NAME=FILE[,NAME=FILE...]' or a map NAME: FILE|[FILE...]),
//     with exists: true for files that must be there (local paths only),
//   a top-level anyOf of required names, with errorMessage,
//   hidden (left out of --help),
// and reports every problem at once: an unknown name (with the closest known
// one), a wrong type, a value outside its enum, range or pattern, a missing
// file, a missing required input.
import groovy.json.JsonSlurper
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths

class AgentomicsParams {

    final Map schema
    final Map<String, Map> props = [:]          // name -> property schema
    final Map<String, String> group = [:]       // name -> group title

    AgentomicsParams(Path schemaFile) {
        schema = (Map) new JsonSlurper().parse(schemaFile.toFile())
        ((Map) schema['$defs']).each { key, g ->
            ((Map) g.properties).each { name, p ->
                props[(String) name] = (Map) p
                group[(String) name] = (String) g.title
            }
        }
    }

    // ---- validation -------------------------------------------------------------------------

    // Every problem with params, one line each ("--name: problem"); empty when all is well.
    List<String> validate(Map params, Path launchDir) {
        List<String> errors = []
        params.keySet().findAll { !props.containsKey(it) }.sort().each { String k ->
            String near = closest(k)
            errors << "--${k}: unknown parameter" + (near ? " (did you mean --${near}?)" : '')
        }
        props.each { String name, Map p ->
            if (!params.containsKey(name)) return
            String e = check(name, params[name], p, launchDir)
            if (e) errors << "--${name}: ${e}"
        }
        List alts = (List) (schema.anyOf ?: [])
        if (alts && !alts.any { alt -> alt.required.every { given(params[it]) } })
            errors << (String) (schema.errorMessage ?: "one of ${alts.collect { it.required.join(' + ') }.join(', ')} is required")
        errors
    }

    // A value that counts as given: not null, '' or false (false clears a
    // parameter on the command line: --train false), and not an empty map.
    static boolean given(v) { !(v == null || v == '' || v == false || (v instanceof Map && v.isEmpty())) }

    // The problem with one value, or null.
    String check(String name, v, Map p, Path launchDir) {
        List types = p.type instanceof List ? (List) p.type : [p.type]
        if (v == null) return types.contains('null') ? null : 'expects a value'
        if (v instanceof Boolean && !types.contains('boolean')) {
            // --train false clears a parameter (e.g. one -profile test sets);
            // a bare --train (true) has lost its value
            if (!v && types.contains('null')) return null
            return v ? 'expects a value' : "expected ${types.findAll { it != 'null' }.collect { article(it) }.join(' or ')}, got false"
        }
        if (v == '' && types.contains('null')) return null
        String t = types.find { fits(it, v) }
        if (!t) return "expected ${types.findAll { it != 'null' }.collect { article(it) }.join(' or ')}, got ${show(v)}"
        if (p.enum && !(v.toString() in p.enum)) return "'${v}' is not one of ${p.enum.join(', ')}"
        if (t == 'integer' || t == 'number') {
            BigDecimal x = new BigDecimal(v.toString())
            if (p.minimum != null && x < (p.minimum as BigDecimal)) return "${v} is below the minimum ${p.minimum}"
            if (p.maximum != null && x > (p.maximum as BigDecimal)) return "${v} is above the maximum ${p.maximum}"
            if (p.exclusiveMinimum != null && x <= (p.exclusiveMinimum as BigDecimal)) return "${v} must be greater than ${p.exclusiveMinimum}"
            if (p.exclusiveMaximum != null && x >= (p.exclusiveMaximum as BigDecimal)) return "${v} must be less than ${p.exclusiveMaximum}"
        }
        if (p.pattern && t == 'string' && !(v.toString() =~ (String) p.pattern)) return "'${v}' does not match ${p.pattern}"
        if (p.format && v != '') return checkFiles(name, v, p, launchDir)
        null
    }

    static boolean fits(String type, v) {
        switch (type) {
            case 'string': return v instanceof CharSequence || v instanceof Number   // --positive 1 is the class "1"
            case 'integer': return v instanceof Integer || v instanceof Long || v instanceof BigInteger
            case 'number': return v instanceof Number
            case 'boolean': return v instanceof Boolean
            case 'object': return v instanceof Map
            case 'array': return v instanceof List
            case 'null': return v == null
        }
        false
    }

    static String article(String t) { t == 'integer' ? 'an integer' : t == 'object' ? 'a map' : t == 'array' ? 'a list' : "a ${t}" }
    static String show(v) { v instanceof CharSequence ? "'${v}'" : v instanceof Boolean ? v.toString() : "${v} (${v.getClass().simpleName})" }

    // Files named by a value: each must exist (exists: true), directories be directories.
    String checkFiles(String name, v, Map p, Path launchDir) {
        List<String> files = []
        switch (p.format) {
            case 'file-path': case 'directory-path': files = [v.toString()]; break
            case 'file-path-list': files = v.toString().tokenize(',')*.trim(); break
            case 'class-files':
                if (v instanceof Map) {
                    ((Map) v).each { n, f -> files.addAll([f].flatten().findAll { it }*.toString()) }
                } else {
                    for (String spec : v.toString().tokenize(',')*.trim()) {
                        int i = spec.indexOf('=')
                        if (i < 1 || i == spec.length() - 1) return "expects NAME=FILE[,NAME=FILE...], got '${spec}'"
                        files << spec.substring(i + 1).trim()
                    }
                }
                break
        }
        if (!p.exists) return null
        List<String> missing = []
        for (String f : files) {
            if (f =~ /^[a-z][a-z0-9+.-]*:\/\//) continue     // s3://, https://...: Nextflow's business
            Path path = launchDir.resolve(f)
            if (!Files.exists(path)) missing << "${f}: no such file"
            else if (p.format == 'directory-path' && !Files.isDirectory(path)) missing << "${f}: not a directory"
            else if (p.format != 'directory-path' && Files.isDirectory(path)) missing << "${f}: a directory, not a file"
        }
        missing ? missing.join('; ') : null
    }

    // The known name closest to k (case, '-' and '_' ignored: --max-cpus arrives
    // as maxCpus), or null when none is near.
    String closest(String k) {
        String nk = norm(k)
        def best = props.keySet().collect { [it, distance(nk, norm(it))] }.min { it[1] }
        best && best[1] <= Math.max(2, nk.length().intdiv(3)) ? (String) best[0] : null
    }

    static String norm(String s) { s.toLowerCase().replaceAll(/[-_]/, '') }

    static int distance(String a, String b) {
        int[] prev = (0..b.length()) as int[], cur = new int[b.length() + 1]
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i
            for (int j = 1; j <= b.length(); j++)
                cur[j] = [prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)].min()
            int[] t = prev; prev = cur; cur = t
        }
        prev[b.length()]
    }

    // ---- help ----------------------------------------------------------------------------------

    // Every parameter but the hidden ones, by group, with its default.
    String help(String version) {
        StringBuilder sb = new StringBuilder()
        sb << "agentomics ${version} — ${schema.description.toString().tokenize('.')[0]}.\n\n"
        sb << "Usage: nextflow run workflows/main.nf [-profile test|docker|singularity|apptainer|gpu|slurm] [--NAME VALUE ...]\n"
        sb << "       nextflow run workflows/main.nf --help NAME     (one parameter in full)\n"
        ((Map) schema['$defs']).each { key, g ->
            List names = ((Map) g.properties).findAll { n, p -> !p.hidden }.keySet() as List
            if (!names) return
            sb << "\n${g.title}\n"
            names.each { String n ->
                Map p = props[n]
                String head = "  --${n} ${typeWord(p)}"
                String d = p.description.toString()
                if (p.enum) d += " One of: ${p.enum.join(', ')}."
                if (p.containsKey('default') && p.default != '') d += " [${p.default}]"
                String body = wrap(d, 30, 100)
                if (head.length() < 30) sb << head.padRight(30) << body.substring(30) << '\n'
                else sb << head << '\n' << body << '\n'
            }
        }
        sb << "\nThe parameters are checked against workflows/nextflow_schema.json before any task runs\n"
        sb << "(an unknown name, a wrong type or value, a missing file: exit 2 with every problem listed).\n"
        sb.toString()
    }

    // One parameter in full; null when there is no such parameter.
    String helpOne(String name) {
        Map p = props[name]
        if (!p) return null
        StringBuilder sb = new StringBuilder()
        sb << "--${name}   (${group[name]})\n\n" << wrap(p.description.toString(), 4, 100) << '\n'
        sb << "\n    type:    ${(p.type instanceof List ? p.type : [p.type]).join(' or ')}\n"
        if (p.containsKey('default')) sb << "    default: ${p.default == '' ? "''" : p.default}\n"
        if (p.enum) sb << "    values:  ${p.enum.join(', ')}\n"
        List range = []
        if (p.minimum != null) range << ">= ${p.minimum}"
        if (p.exclusiveMinimum != null) range << "> ${p.exclusiveMinimum}"
        if (p.maximum != null) range << "<= ${p.maximum}"
        if (p.exclusiveMaximum != null) range << "< ${p.exclusiveMaximum}"
        if (range) sb << "    range:   ${range.join(', ')}\n"
        if (p.pattern) sb << "    pattern: ${p.pattern}\n"
        if (p.format) sb << "    format:  ${p.format}${p.exists ? ' (must exist)' : ''}\n"
        sb.toString()
    }

    static String typeWord(Map p) {
        List t = (p.type instanceof List ? p.type : [p.type]).findAll { it != 'null' }
        p.format in ['file-path', 'file-path-list', 'class-files'] ? (p.format == 'class-files' ? 'NAME=FILE' : 'FILE') :
            p.format == 'directory-path' ? 'DIR' : t.contains('boolean') && t.size() == 1 ? '' : t[0] == 'integer' ? 'N' : t[0] == 'number' ? 'X' : 'STR'
    }

    // text wrapped to width, every line indented by indent spaces
    static String wrap(String text, int indent, int width) {
        List<String> lines = []
        String line = ''
        text.tokenize(' ').each { w ->
            if (line && indent + line.length() + 1 + w.length() > width) { lines << line; line = w }
            else line = line ? "${line} ${w}" : w
        }
        if (line) lines << line
        lines.collect { ' ' * indent + it }.join('\n')
    }
}
