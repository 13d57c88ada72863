/* test_svg.c — the report's SVG writer (svg.h): ticks on linear and log
 * axes, NaN and non-positive points on a log axis skipped (breaking a
 * line), empty series drawn as "no data", escaping, bars and heat maps. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/svg.h"
#include "unit.h"

static int count(const char *s, const char *what)
{
    int n = 0;
    const char *p = s;
    while ((p = strstr(p, what))) { n++; p += strlen(what); }
    return n;
}

/* Draws p into a string; NULL on failure. */
static char *draw(const ao_svg_plot *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    int rc = ao_svg_xy(fp, p);
    fclose(fp);
    if (rc != AO_OK) { free(buf); return NULL; }
    return buf;
}

static void test_ticks(void)
{
    double t[24];
    int n = ao_svg_ticks(0, 1, 0, t, 24);
    CHECK(n == 6 && t[0] == 0 && fabs(t[5] - 1) < 1e-12 && fabs(t[1] - 0.2) < 1e-12, "linear [0, 1]: 0, 0.2, ..., 1 (got %d)", n);
    n = ao_svg_ticks(-3, 7, 0, t, 24);
    CHECK(n == 5 && t[0] == -2 && t[4] == 6, "linear [-3, 7]: steps of 2 from -2 to 6 (got %d: %g..%g)", n, t[0], t[n > 0 ? n - 1 : 0]);
    n = ao_svg_ticks(1, 10000, 1, t, 24);
    CHECK(n == 5 && t[0] == 1 && t[4] == 10000, "log [1, 1e4]: the five decades (got %d)", n);
    n = ao_svg_ticks(1, 100, 1, t, 24);
    CHECK(n == 7 && t[1] == 2 && t[2] == 5 && t[6] == 100, "log [1, 100]: 1 2 5 10 20 50 100 (got %d)", n);
    CHECK(ao_svg_ticks(0, 10, 1, t, 24) == 0, "log axis from 0: no ticks");
    CHECK(ao_svg_ticks(NAN, 1, 0, t, 24) == 0 && ao_svg_ticks(2, 1, 0, t, 24) == 0, "NaN or reversed range: no ticks");
    n = ao_svg_ticks(5, 5, 0, t, 24);
    CHECK(n == 1 && t[0] == 5, "a zero-width range: one tick");
}

static void test_xy(void)
{
    double x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {0.1, 0.2, NAN, 0.4, 0.5, 0.6}, ylog[6] = {1, 10, -1, 100, 0, 1000};
    ao_svg_series s = {"a<b", x, y, 6, AO_SVG_LINE_POINTS, 4, 0};
    ao_svg_plot p = {"t & \"q\"", 400, 300, {"x", 0, NAN, NAN}, {"y", 0, NAN, NAN}, &s, 1};
    char *out = draw(&p);
    CHECK(out != NULL, "a line plot is written");
    if (!out) return;
    CHECK(count(out, "class=\"ao-line\"") == 2, "a NaN breaks the line into two pieces (%d)", count(out, "class=\"ao-line\""));
    CHECK(count(out, "class=\"ao-point\"") == 5, "five finite points drawn, the NaN skipped (%d)", count(out, "class=\"ao-point\""));
    CHECK(strstr(out, "data-marks=\"7\"") != NULL, "the marks count is on the plot");
    CHECK(count(out, "r=\"6\"") == 1, "the marked point is drawn large");
    CHECK(strstr(out, "t &amp; &quot;q&quot;") && strstr(out, "a&lt;b") && !strstr(out, "a<b"), "titles and legends are escaped");
    CHECK(strncmp(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ao-plot", 54) == 0 && strstr(out, "</svg>"), "one svg element");
    free(out);

    s.y = ylog;
    s.mark = -1;
    p.y.log = 1;
    out = draw(&p);
    CHECK(out && count(out, "class=\"ao-point\"") == 4, "log axis: values <= 0 skipped (%d points)", out ? count(out, "class=\"ao-point\"") : -1);
    CHECK(out && count(out, "class=\"ao-line\"") == 3, "log axis: each skipped value breaks the line (%d pieces)", out ? count(out, "class=\"ao-line\"") : -1);
    CHECK(out && strstr(out, ">1000<") && strstr(out, ">10<"), "log axis: decade tick labels");
    free(out);

    s.n = 0;
    out = draw(&p);
    CHECK(out && strstr(out, "data-marks=\"0\"") && strstr(out, ">no data<"), "an empty series: the frame says no data");
    free(out);
    p.n_series = 0;
    out = draw(&p);
    CHECK(out && strstr(out, ">no data<"), "no series at all: no data");
    free(out);
    {
        double nx[2] = {NAN, NAN}, ny[2] = {1, 2};
        ao_svg_series ns = {"all missing", nx, ny, 2, AO_SVG_LINE, -1, 0};
        p.series = &ns;
        p.n_series = 1;
        p.y.log = 0;
        out = draw(&p);
        CHECK(out && strstr(out, "data-marks=\"0\""), "all-NaN series: nothing drawn, no crash");
        CHECK(out && !strstr(out, "nan") && !strstr(out, "inf"), "no NaN or inf coordinates in the output");
        free(out);
    }
}

static void test_integral_x(void)
{
    double x[3] = {1, 2, 3}, y[3] = {0.7, 0.9, 0.95};
    ao_svg_series s = {"lineage 1", x, y, 3, AO_SVG_LINE_POINTS, 2, 0};
    ao_svg_plot p = {"per iteration", 400, 300, {"iteration", 0, NAN, NAN}, {"auroc", 0, NAN, NAN}, &s, 1};
    char *out = draw(&p);
    CHECK(out && strstr(out, ">2<") && !strstr(out, ">1.5<") && !strstr(out, ">2.5<"), "integer x values: no fractional x ticks");
    free(out);
    x[1] = 1.5;
    out = draw(&p);
    CHECK(out && strstr(out, ">1.5<"), "fractional x values keep them");
    free(out);
}

static void test_bars_heatmap(void)
{
    const char *cats[2] = {"x", "y"}, *groups[2] = {"train", "test"}, *rows[2] = {"0", "1"};
    double v[4] = {3, NAN, 2, 5}, m[4] = {50, 3, 4, 43};
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    int rc = ao_svg_bars(fp, "bars", "n", cats, 2, groups, v, 2, 0, 0);
    fclose(fp);
    CHECK(rc == AO_OK && count(buf, "class=\"ao-bar\"") == 3, "bars: a NaN value draws no bar (%d)", count(buf, "class=\"ao-bar\""));
    free(buf);
    buf = NULL;
    fp = open_memstream(&buf, &len);
    rc = ao_svg_heatmap(fp, "confusion", "predicted", "true", rows, rows, m, 2, 2, 0, 0);
    fclose(fp);
    CHECK(rc == AO_OK && count(buf, "class=\"ao-cell\"") == 4 && strstr(buf, ">43<") && strstr(buf, ">3<"), "heat map: one labelled cell per entry");
    free(buf);
    buf = NULL;
    fp = open_memstream(&buf, &len);
    rc = ao_svg_heatmap(fp, "empty", NULL, NULL, rows, rows, m, 0, 0, 0, 0);
    fclose(fp);
    CHECK(rc == AO_OK && strstr(buf, ">no data<"), "an empty heat map says no data");
    free(buf);
}

int main(void)
{
    test_ticks();
    test_xy();
    test_integral_x();
    test_bars_heatmap();
    return UNIT_DONE();
}
