/* Unit tests for scriptmodel.c: the script spec and the static leakage
 * check (training and prediction run in the sandbox: tests/cli/test_script_model.sh). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agentomics/fileio.h"
#include "agentomics/scriptmodel.h"
#include "unit.h"

/* Parses a code output given as JSON text; returns the rc, s filled on success. */
static int parse(const char *text, ao_script_spec *s, ao_err *err)
{
    json_t *j = json_loads(text, 0, NULL);
    int rc;
    ao_err_init(err);
    rc = ao_script_spec_parse(j, s, err);
    json_decref(j);
    return rc;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char *p = ao_path_join(dir, rel), *slash = strrchr(p, '/');
    FILE *fp;
    ao_err e;
    ao_err_init(&e);
    *slash = '\0';
    if (ao_mkdir_p(p, &e) < 0) { printf("# cannot create %s\n", p); exit(1); }
    *slash = '/';
    if (!(fp = fopen(p, "w"))) { printf("# cannot write %s\n", p); exit(1); }
    fputs(text, fp);
    fclose(fp);
    free(p);
}

static void test_spec(void)
{
    ao_script_spec s;
    ao_err e;
    CHECK(parse("{\"entry\": \"script\", \"interpreter\": \"/usr/bin/python3\", \"train_entry\": \"train.py\", \"inference_entry\": \"./src//predict.py\", \"smoke\": {}}", &s, &e) == AO_OK &&
          !strcmp(s.interpreter, "/usr/bin/python3") && !strcmp(s.train_entry, "train.py") && !strcmp(s.inference_entry, "src/predict.py"),
          "spec: a valid code output, entry paths made canonical");
    ao_script_spec_free(&s);
    CHECK(parse("{\"entry\": \"script\", \"interpreter\": null, \"train_entry\": \"t\", \"inference_entry\": \"p\"}", &s, &e) == AO_OK && !s.interpreter,
          "spec: a null interpreter (executable entries)");
    ao_script_spec_free(&s);
    CHECK(parse("{\"kind\": \"script\", \"train_entry\": \"t.sh\", \"inference_entry\": \"p.sh\"}", &s, &e) == AO_OK,
          "spec: script-model.json (no \"entry\") parses too");
    ao_script_spec_free(&s);
    ao_script_spec_free(&s);   /* twice: zeroed */
    ao_script_spec_free(NULL);
    CHECK(parse("{\"entry\": \"script\", \"train_entry\": \"/work/train.py\", \"inference_entry\": \"p.py\"}", &s, &e) == AO_EDATA && strstr(e.msg, "absolute"),
          "spec: an absolute entry is refused (%s)", e.msg);
    CHECK(parse("{\"entry\": \"script\", \"train_entry\": \"t.py\", \"inference_entry\": \"a/../../p.py\"}", &s, &e) == AO_EDATA && strstr(e.msg, "'..'"),
          "spec: '..' is refused (%s)", e.msg);
    CHECK(parse("{\"entry\": \"script\", \"interpreter\": \"python3\", \"train_entry\": \"t.py\", \"inference_entry\": \"p.py\"}", &s, &e) == AO_EDATA && strstr(e.msg, "absolute"),
          "spec: a relative interpreter is refused (%s)", e.msg);
    CHECK(parse("{\"entry\": \"script\", \"interpreter\": \"/usr/bin/env python3\", \"train_entry\": \"t.py\", \"inference_entry\": \"p.py\"}", &s, &e) == AO_EDATA,
          "spec: an interpreter with arguments is refused");
    CHECK(parse("{\"entry\": \"script\", \"train_entry\": \"t.py\"}", &s, &e) == AO_EDATA && strstr(e.msg, "inference_entry"),
          "spec: a missing inference entry is named (%s)", e.msg);
    CHECK(parse("{\"entry\": \"script\", \"train_entry\": \"./\", \"inference_entry\": \"p.py\"}", &s, &e) == AO_EDATA,
          "spec: a path naming no file is refused");
    CHECK(parse("{\"entry\": \"builtin\", \"train_entry\": \"t.py\", \"inference_entry\": \"p.py\"}", &s, &e) == AO_EDATA,
          "spec: a builtin code output is not a script spec");
    CHECK(parse("[1]", &s, &e) == AO_EDATA, "spec: not an object");
}

static void test_static_check(void)
{
    char dir[] = "/tmp/agentomics-unit-script.XXXXXX", msg[512];
    ao_script_spec s = {NULL, "train.py", "predict.py"};
    ao_err e;
    int rc;
    ao_err_init(&e);
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    write_file(dir, "train.py", "import sys\nX = open('/data/train.tsv')\n");
    write_file(dir, "predict.py", "#!/usr/bin/python3\n# reads only /model and the input (not train.tsv)\nimport sys\nfrom features import kmers\nprint(open(sys.argv[2]).read())\n");
    write_file(dir, "features.py", "def kmers(s):\n    return s\n");
    write_file(dir, "unused.py", "open('/data/valid.tsv')\n");
    write_file(dir, "out/data.pkl", "x");
    rc = ao_script_static_check(&s, dir, msg, sizeof msg, &e);
    CHECK(rc == 1, "static check: clean inference code; the training entry and unimported files are not scanned (%d: %s)", rc, msg);
    write_file(dir, "features.py", "import os\n\ndef kmers(s):\n    return os.path.join('/data', 'valid.tsv')\n");
    rc = ao_script_static_check(&s, dir, msg, sizeof msg, &e);
    CHECK(rc == 0 && !strncmp(msg, "features.py:4: refers to", 24), "static check: an imported module is scanned (%s)", msg);
    write_file(dir, "features.py", "def kmers(s):\n    return s\n");
    write_file(dir, "predict.py", "import sys\nimport pandas as pd\nX = pd.read_csv(\"/data/train.tsv\", sep='\\t')\nY = open('split/valid.tsv')\n");
    rc = ao_script_static_check(&s, dir, msg, sizeof msg, &e);
    CHECK(rc == 0 && strstr(msg, "predict.py:3: refers to 'train.tsv'") && strstr(msg, "and 1 more"), "static check: FILE:LINE of the first reference (%s)", msg);
    write_file(dir, "predict.py", "source(\"helpers.R\")\n");
    write_file(dir, "helpers.R", "conf <- read.table('config.txt')\n");
    write_file(dir, "config.txt", "test_path = ../heldout/test.tsv\n");
    rc = ao_script_static_check(&s, dir, msg, sizeof msg, &e);
    CHECK(rc == 0 && strstr(msg, "config.txt:1: refers to"), "static check: files named by name, transitively (%s)", msg);
    write_file(dir, "predict.py", "import pickle\nm = pickle.load(open('/model/artifacts/metadata.pkl', 'rb'))\nsplit = 'x'.split('/')\n");
    rc = ao_script_static_check(&s, dir, msg, sizeof msg, &e);
    CHECK(rc == 1, "static check: /model/.../metadata and .split('/') are not references (%s)", msg);
    s.inference_entry = "nope.py";
    rc = ao_script_static_check(&s, dir, msg, sizeof msg, &e);
    CHECK(rc == 0 && strstr(msg, "nope.py"), "static check: a missing inference entry is reported (%s)", msg);
    ao_rm_rf(dir);
}

int main(void)
{
    test_spec();
    test_static_check();
    return UNIT_DONE();
}
