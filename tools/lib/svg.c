/* svg.c — the report's plot writer (svg.h): axes with 1-2-5 or decade
 * ticks, NaN-tolerant lines and points, grouped bars, heat maps. Plain
 * SVG 1.1 attributes only, so every browser draws it without scripts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/svg.h"

#define ML 62.0   /* margins: left (y ticks and label), right, top (title, legend), bottom (x ticks and label) */
#define MR 16.0
#define MT 34.0
#define MB 46.0
#define MAX_TICKS 24

/* Colour-blind-safe (Okabe-Ito) series colours. */
static const char *const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"};
#define N_PALETTE (sizeof palette / sizeof palette[0])

void ao_svg_escape(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

static int finish(FILE *fp) { return ferror(fp) ? AO_EIO : AO_OK; }

int ao_svg_ticks(double lo, double hi, int log, double *ticks, int max)
{
    int n = 0;
    if (!isfinite(lo) || !isfinite(hi) || hi < lo || max <= 0 || (log && lo <= 0)) return 0;
    if (log) {
        double d0 = floor(log10(lo) + 1e-9), d1 = ceil(log10(hi) - 1e-9), d;
        int fine = d1 - d0 < 3;
        for (d = d0; d <= d1 && n < max; d++) {
            static const double mult[] = {1, 2, 5};
            int k;
            for (k = 0; k < (fine ? 3 : 1) && n < max; k++) {
                double t = mult[k] * pow(10, d);
                if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks[n++] = t;
            }
        }
        return n;
    }
    if (hi == lo) { ticks[n++] = lo; return n; }
    {
        double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw))), f = raw / mag, step, t;
        step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
        for (t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < max; t += step)
            ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
    }
    return n;
}

/* A tick label: short, no trailing zeros. */
static void tick_label(char *b, size_t n, double v)
{
    if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3)) snprintf(b, n, "%.0e", v);
    else snprintf(b, n, "%.4g", v);
}

static void frame_open(FILE *fp, int w, int h, const char *title, const char *kind)
{
    fprintf(fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ao-plot ao-%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", kind, w, h, w, h);
    fputs("<title>", fp);
    ao_svg_escape(fp, title ? title : "");
    fputs("</title>", fp);
    fprintf(fp, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>", w, h);
    if (title) {
        fprintf(fp, "<text x=\"%g\" y=\"18\" font-size=\"13\" font-weight=\"bold\" font-family=\"sans-serif\">", ML);
        ao_svg_escape(fp, title);
        fputs("</text>", fp);
    }
}

/* The marks count goes on the root element, which is written first: the
 * body is drawn into a memory stream, then copied after the opening tag. */
static int frame_close(FILE *fp, FILE *body, char **bufp, size_t *lenp, long marks, double w, double h)
{
    char *buf;
    size_t len;
    if (fclose(body) != 0 || !*bufp) return AO_EIO;
    buf = *bufp;
    len = *lenp;
    /* data-marks sits on an inner group: the root tag is already written */
    fprintf(fp, "<g class=\"ao-marks\" data-marks=\"%ld\">", marks);
    fwrite(buf, 1, len, fp);
    if (marks == 0)
        fprintf(fp, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" font-size=\"13\" fill=\"#888\" font-family=\"sans-serif\">no data</text>",
                w / 2, h / 2);
    fputs("</g></svg>", fp);
    return finish(fp);
}

static int usable(double v, int log) { return isfinite(v) && (!log || v > 0); }

static double scale(double v, double lo, double hi, int log, double a, double b)
{
    double t;
    if (log) { v = log10(v); lo = log10(lo); hi = log10(hi); }
    t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return a + t * (b - a);
}

/* The data range of one axis over every series; pads a zero-width range. */
static void data_range(const ao_svg_plot *p, int yaxis, double *lo, double *hi)
{
    const ao_svg_axis *ax = yaxis ? &p->y : &p->x;
    const ao_svg_axis *other = yaxis ? &p->x : &p->y;
    int s;
    size_t i;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (s = 0; s < p->n_series; s++) {
        const ao_svg_series *se = &p->series[s];
        for (i = 0; i < se->n; i++) {
            double v = yaxis ? se->y[i] : se->x[i], o = yaxis ? se->x[i] : se->y[i];
            if (!usable(v, ax->log) || !usable(o, other->log)) continue;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    }
    if (*lo < *hi && !ax->log) {
        /* a little room so that the extreme points do not sit on the frame */
        double pad = (*hi - *lo) * 0.04;
        *lo -= pad;
        *hi += pad;
    }
    if (isfinite(ax->lo)) *lo = ax->lo;
    if (isfinite(ax->hi)) *hi = ax->hi;
    if (*lo > *hi) return;
    if (*lo == *hi) {
        if (ax->log) { *lo /= 2; *hi *= 2; }
        else { *lo -= *lo != 0 ? fabs(*lo) * 0.1 : 1; *hi += *hi != 0 ? fabs(*hi) * 0.1 : 1; }
    }
}

static void axis_labels(FILE *fp, const ao_svg_axis *x, const ao_svg_axis *y, double w, double h)
{
    if (x->label) {
        fprintf(fp, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\" font-size=\"12\" font-family=\"sans-serif\">", ML + (w - ML - MR) / 2, h - 8);
        ao_svg_escape(fp, x->label);
        fputs("</text>", fp);
    }
    if (y->label) {
        double cy = MT + (h - MT - MB) / 2;
        fprintf(fp, "<text x=\"14\" y=\"%g\" text-anchor=\"middle\" font-size=\"12\" font-family=\"sans-serif\" transform=\"rotate(-90 14 %g)\">", cy, cy);
        ao_svg_escape(fp, y->label);
        fputs("</text>", fp);
    }
}

/* The width a one-row legend needs, and the widest entry. */
static double legend_width(const char *const *names, int n, double *widest)
{
    double tot = 0, tw;
    int i;
    *widest = 0;
    for (i = 0; i < n; i++) {
        if (!names[i]) continue;
        tw = 7.0 * (double)strlen(names[i]) + 18;
        tot += tw;
        if (tw > *widest) *widest = tw;
    }
    return tot;
}

/* A column of entries right of the plot, from x (when one row above it would not fit). */
static void legend_column(FILE *fp, const char *const *names, int n, double x)
{
    int i, row = 0;
    for (i = 0; i < n; i++) {
        if (!names[i]) continue;
        fprintf(fp, "<rect x=\"%g\" y=\"%g\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, MT + 14.0 * row, palette[i % N_PALETTE]);
        fprintf(fp, "<text x=\"%g\" y=\"%g\" font-size=\"11\" font-family=\"sans-serif\">", x + 13, MT + 14.0 * row + 9);
        ao_svg_escape(fp, names[i]);
        fputs("</text>", fp);
        row++;
    }
}

static void legend(FILE *fp, const char *const *names, int n, double w)
{
    int i, shown = 0;
    double x = w - MR;
    for (i = n - 1; i >= 0; i--) {
        double tw;
        if (!names[i]) continue;
        tw = 7.0 * (double)strlen(names[i]) + 18;
        x -= tw;
        fprintf(fp, "<rect x=\"%g\" y=\"%g\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, MT - 14, palette[i % N_PALETTE]);
        fprintf(fp, "<text x=\"%g\" y=\"%g\" font-size=\"11\" font-family=\"sans-serif\">", x + 13, MT - 5);
        ao_svg_escape(fp, names[i]);
        fputs("</text>", fp);
        shown++;
    }
    (void)shown;
}

int ao_svg_xy(FILE *fp, const ao_svg_plot *p)
{
    double w = p->width > 0 ? p->width : 480, h = p->height > 0 ? p->height : 320;
    double x0 = ML, x1 = w - MR, y0 = h - MB, y1 = MT, xlo, xhi, ylo, yhi, ticks[MAX_TICKS];
    const char *names[64];
    char *buf = NULL, lab[32];
    size_t len = 0, i;
    long marks = 0;
    int s, n, k, x_integral = 1, column = 0;
    double widest;
    FILE *b;
    frame_open(fp, (int)w, (int)h, p->title, "xy");
    for (s = 0; s < p->n_series && s < 64; s++) names[s] = p->series[s].dashed ? NULL : p->series[s].name;
    /* a legend that does not fit in one row beside the title goes in a column right of the plot */
    if (legend_width(names, s, &widest) > w - ML - MR - 7.0 * (p->title ? (double)strlen(p->title) : 0) - 20) {
        column = 1;
        x1 = w - MR - widest - 6;
    }
    if (!(b = open_memstream(&buf, &len))) return AO_EIO;
    data_range(p, 0, &xlo, &xhi);
    data_range(p, 1, &ylo, &yhi);
    for (s = 0; s < p->n_series; s++)
        for (i = 0; i < p->series[s].n; i++)
            if (isfinite(p->series[s].x[i]) && p->series[s].x[i] != floor(p->series[s].x[i])) x_integral = 0;
    fprintf(b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#999\"/>", x0, y1, x1 - x0, y0 - y1);
    if (xlo <= xhi && ylo <= yhi) {
        n = ao_svg_ticks(xlo, xhi, p->x.log, ticks, MAX_TICKS);
        for (k = 0; k < n; k++) {
            double px = scale(ticks[k], xlo, xhi, p->x.log, x0, x1);
            if (x_integral && ticks[k] != floor(ticks[k])) continue;   /* no "1.5" between iterations 1 and 2 */
            tick_label(lab, sizeof lab, ticks[k]);
            fprintf(b, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#eee\"/>", px, y1, px, y0);
            fprintf(b, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\">%s</text>", px, y0 + 14, lab);
        }
        n = ao_svg_ticks(ylo, yhi, p->y.log, ticks, MAX_TICKS);
        for (k = 0; k < n; k++) {
            double py = scale(ticks[k], ylo, yhi, p->y.log, y0, y1);
            tick_label(lab, sizeof lab, ticks[k]);
            fprintf(b, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#eee\"/>", x0, py, x1, py);
            fprintf(b, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" font-family=\"sans-serif\">%s</text>", x0 - 4, py + 3, lab);
        }
        for (s = 0; s < p->n_series; s++) {
            const ao_svg_series *se = &p->series[s];
            const char *col = se->dashed ? "#888888" : palette[s % N_PALETTE];
            int open = 0;
            if (se->style != AO_SVG_POINTS) {
                for (i = 0; i < se->n; i++) {
                    int ok = usable(se->x[i], p->x.log) && usable(se->y[i], p->y.log);
                    if (!ok) {
                        if (open) fputs("\"/>", b);
                        open = 0;
                        continue;
                    }
                    if (!open) {
                        fprintf(b, "<path class=\"ao-line\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s d=\"M", col, se->dashed ? "1" : "2",
                                se->dashed ? " stroke-dasharray=\"4 3\"" : "");
                        marks++;
                        open = 1;
                    } else {
                        fputs(" L", b);
                    }
                    fprintf(b, "%.1f %.1f", scale(se->x[i], xlo, xhi, p->x.log, x0, x1), scale(se->y[i], ylo, yhi, p->y.log, y0, y1));
                }
                if (open) fputs("\"/>", b);
            }
            for (i = 0; i < se->n; i++) {
                double px, py;
                int big = se->mark >= 0 && (size_t)se->mark == i;
                if (!usable(se->x[i], p->x.log) || !usable(se->y[i], p->y.log)) continue;
                if (se->style == AO_SVG_LINE && !big) continue;
                px = scale(se->x[i], xlo, xhi, p->x.log, x0, x1);
                py = scale(se->y[i], ylo, yhi, p->y.log, y0, y1);
                if (px < x0 - 0.5 || px > x1 + 0.5 || py < y1 - 0.5 || py > y0 + 0.5) continue;   /* outside a fixed range */
                fprintf(b, "<circle class=\"ao-point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"%s/>", px, py, big ? "6" : "3", col,
                        big ? " stroke=\"#000\" stroke-width=\"2\"" : "");
                marks++;
            }
        }
    }
    axis_labels(b, &p->x, &p->y, w - (column ? w - MR - x1 : 0), h);
    s = p->n_series < 64 ? p->n_series : 64;
    if (column) legend_column(b, names, s, x1 + 8);
    else legend(b, names, s, w);
    {
        int rc = frame_close(fp, b, &buf, &len, marks, w, h);
        free(buf);
        return rc;
    }
}

int ao_svg_bars(FILE *fp, const char *title, const char *ylabel, const char *const *cats, int n_cats,
                const char *const *groups, const double *values, int n_groups, int width, int height)
{
    double w = width > 0 ? width : 480, h = height > 0 ? height : 320, x0 = ML, x1 = w - MR, y0 = h - MB, y1 = MT;
    double hi = 0, lo = 0, ticks[MAX_TICKS], slot, bw;
    ao_svg_axis xa = {NULL, 0, NAN, NAN}, ya = {ylabel, 0, NAN, NAN};
    char *buf = NULL, lab[32];
    size_t len = 0;
    long marks = 0;
    int c, g, n, k, any = 0;
    FILE *b;
    frame_open(fp, (int)w, (int)h, title, "bars");
    if (!(b = open_memstream(&buf, &len))) return AO_EIO;
    for (k = 0; k < n_cats * n_groups; k++)
        if (isfinite(values[k])) {
            if (values[k] > hi) hi = values[k];
            if (values[k] < lo) lo = values[k];
            any = 1;
        }
    if (hi == lo) hi = lo + 1;
    fprintf(b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#999\"/>", x0, y1, x1 - x0, y0 - y1);
    if (any && n_cats > 0) {
        n = ao_svg_ticks(lo, hi, 0, ticks, MAX_TICKS);
        if (n > 0 && ticks[n - 1] < hi) hi = ticks[n - 1] + (n > 1 ? ticks[1] - ticks[0] : 1);
        n = ao_svg_ticks(lo, hi, 0, ticks, MAX_TICKS);
        for (k = 0; k < n; k++) {
            double py = scale(ticks[k], lo, hi, 0, y0, y1);
            tick_label(lab, sizeof lab, ticks[k]);
            fprintf(b, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#eee\"/>", x0, py, x1, py);
            fprintf(b, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" font-family=\"sans-serif\">%s</text>", x0 - 4, py + 3, lab);
        }
        slot = (x1 - x0) / n_cats;
        bw = slot * 0.8 / (n_groups > 0 ? n_groups : 1);
        for (c = 0; c < n_cats; c++) {
            fprintf(b, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\">", x0 + slot * (c + 0.5), y0 + 14);
            ao_svg_escape(b, cats[c]);
            fputs("</text>", b);
            for (g = 0; g < n_groups; g++) {
                double v = values[(size_t)g * (size_t)n_cats + (size_t)c], pz, pv;
                if (!isfinite(v)) continue;
                pz = scale(0, lo, hi, 0, y0, y1);
                pv = scale(v, lo, hi, 0, y0, y1);
                fprintf(b, "<rect class=\"ao-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>", x0 + slot * c + slot * 0.1 + bw * g,
                        pv < pz ? pv : pz, bw, fabs(pz - pv), palette[g % N_PALETTE]);
                ao_svg_escape(b, groups && groups[g] ? groups[g] : "");
                fputs(" ", b);
                ao_svg_escape(b, cats[c]);
                fprintf(b, ": %.6g</title></rect>", v);
                marks++;
            }
        }
    }
    axis_labels(b, &xa, &ya, w, h);
    if (groups && n_groups > 1) legend(b, groups, n_groups, w);
    {
        int rc = frame_close(fp, b, &buf, &len, marks, w, h);
        free(buf);
        return rc;
    }
}

int ao_svg_heatmap(FILE *fp, const char *title, const char *xlabel, const char *ylabel, const char *const *rows,
                   const char *const *cols, const double *v, int nr, int nc, int width, int height)
{
    double w = width > 0 ? width : 360, h = height > 0 ? height : 320, x0 = ML + 30, x1 = w - MR, y0 = h - MB, y1 = MT, cw, ch;
    ao_svg_axis xa = {xlabel, 0, NAN, NAN}, ya = {ylabel, 0, NAN, NAN};
    char *buf = NULL;
    size_t len = 0;
    long marks = 0;
    int r, c;
    FILE *b;
    frame_open(fp, (int)w, (int)h, title, "heatmap");
    if (!(b = open_memstream(&buf, &len))) return AO_EIO;
    if (nr > 0 && nc > 0) {
        cw = (x1 - x0) / nc;
        ch = (y0 - y1) / nr;
        for (r = 0; r < nr; r++) {
            double tot = 0;
            for (c = 0; c < nc; c++) if (isfinite(v[r * nc + c])) tot += v[r * nc + c];
            fprintf(b, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" font-family=\"sans-serif\">", x0 - 4, y1 + ch * (r + 0.5) + 3);
            ao_svg_escape(b, rows[r]);
            fputs("</text>", b);
            for (c = 0; c < nc; c++) {
                double x = v[r * nc + c], share = tot > 0 && isfinite(x) ? x / tot : 0;
                int shade = 255 - (int)lround(share * 200);
                char lab[32];
                if (x == floor(x) && fabs(x) < 1e15) snprintf(lab, sizeof lab, "%.0f", x);
                else snprintf(lab, sizeof lab, "%.3g", x);
                fprintf(b, "<rect class=\"ao-cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"/>",
                        x0 + cw * c, y1 + ch * r, cw, ch, shade, shade);
                fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" font-family=\"sans-serif\" fill=\"%s\">%s</text>",
                        x0 + cw * (c + 0.5), y1 + ch * (r + 0.5) + 4, share > 0.6 ? "#fff" : "#000", isfinite(x) ? lab : "NA");
                marks++;
            }
        }
        for (c = 0; c < nc; c++) {
            fprintf(b, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\">", x0 + cw * (c + 0.5), y0 + 14);
            ao_svg_escape(b, cols[c]);
            fputs("</text>", b);
        }
    }
    axis_labels(b, &xa, &ya, w, h);
    {
        int rc = frame_close(fp, b, &buf, &len, marks, w, h);
        free(buf);
        return rc;
    }
}
