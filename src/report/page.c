/* A report page and its files (see page.h). The markup is well-formed XML as well as HTML
 * (every element closed, attributes quoted), so a strict XML parser reads it and any
 * browser renders it. */
#include "report/page.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/files.h"

static const char *const style =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;"
    "max-width:1180px;padding:0 16px;color:#222;background:#fff;font-size:15px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;"
    "border-bottom:1px solid #ccc;padding-bottom:4px}h3{font-size:16px;margin:16px 0 6px}"
    "section{margin-bottom:12px}.plots{display:flex;flex-wrap:wrap;gap:14px}"
    "svg.plot{max-width:100%;height:auto;border:1px solid #ddd}"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f0f0f0}td.text,th.text{text-align:left}"
    "tr.best td{background:#e6f1f8;font-weight:bold}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:8px;overflow:auto;font-size:12px;"
    "max-height:420px}.note{color:#555}.samples{display:flex;flex-wrap:wrap;gap:10px}"
    "figure{margin:0;text-align:center;font-size:12px;width:96px}"
    "figure img{width:84px;height:84px;image-rendering:pixelated;border:1px solid #ccc}"
    ".scroll{overflow-x:auto}";

void nni_page_begin(nni_page *p, const char *title, int refresh_seconds)
{
    memset(p, 0, sizeof *p);
    nni_text *h = &p->html;
    nni_text_puts(h, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
                     "lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    if (refresh_seconds > 0)
        nni_text_printf(h, "<meta http-equiv=\"refresh\" content=\"%d\"/>\n", refresh_seconds);
    nni_text_puts(h, "<title>");
    nni_text_escaped(h, title);
    nni_text_printf(h, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
    nni_text_escaped(h, title);
    nni_text_puts(h, "</h1>\n");
}

void nni_page_section(nni_page *p, const char *id, const char *heading)
{
    nni_text_printf(&p->html, "<section id=\"%s\">\n<h2>", id);
    nni_text_escaped(&p->html, heading);
    nni_text_puts(&p->html, "</h2>\n");
}

void nni_page_section_end(nni_page *p)
{
    nni_text_puts(&p->html, "</section>\n");
}

void nni_page_note(nni_page *p, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    nni_text_puts(&p->html, "<p class=\"note\">");
    nni_text_escaped(&p->html, line);
    nni_text_puts(&p->html, "</p>\n");
}

void nni_page_pre(nni_page *p, const char *id, const char *text)
{
    nni_text_printf(&p->html, "<pre id=\"%s\">", id);
    nni_text_escaped(&p->html, text);
    nni_text_puts(&p->html, "</pre>\n");
}

nni_text *nni_page_plot_begin(nni_page *p)
{
    nni_text_free(&p->scratch);
    return &p->scratch;
}

void nni_page_plot_end(nni_page *p, const char *name)
{
    if (p->scratch.failed || !p->scratch.data) {
        p->html.failed |= p->scratch.failed;
        return;
    }
    nni_text_puts(&p->html, p->scratch.data);
    if (p->n_plots < NNI_PAGE_MAX_PLOTS) {
        p->plot_name[p->n_plots] = strdup(name);
        p->plot[p->n_plots] = p->scratch;
        p->n_plots++;
        memset(&p->scratch, 0, sizeof p->scratch);
    }
}

void nni_page_attach_png(nni_page *p, const char *name, const nni_text *png)
{
    if (!png->data || png->failed || p->n_plots == NNI_PAGE_MAX_PLOTS)
        return;
    nni_text copy = {0};
    nni_text_put(&copy, png->data, png->len);
    if (copy.failed) {
        nni_text_free(&copy);
        return;
    }
    p->plot_name[p->n_plots] = strdup(name);
    p->plot[p->n_plots] = copy;
    p->plot_is_png[p->n_plots] = 1;
    p->n_plots++;
}

void nni_page_end(nni_page *p)
{
    nni_text_puts(&p->html, "<p class=\"note\">Written by nntrain report. Every figure is "
                            "also beside this page as SVG.</p>\n</body>\n</html>\n");
}

nn_status nni_page_write(nni_page *p, const char *path, nn_error *err)
{
    if (p->html.failed || !p->html.data)
        return nn_fail(err, NN_ERR_OTHER, "%s: out of memory while building the report", path);
    /* The page is written (to its temporary name) before anything beside it, so an output
     * that cannot be written leaves no plots behind either. */
    nni_atomic_file page_file;
    nn_status st = nni_atomic_begin(&page_file, path, err);
    if (st)
        return st;
    FILE *f = fopen(page_file.tmp_path, "wb");
    if (!f) {
        int e = errno;
        nni_atomic_abort(&page_file);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path, strerror(e));
    }
    size_t wrote = fwrite(p->html.data, 1, p->html.len, f);
    int e = wrote != p->html.len ? errno : 0;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (e || wrote != p->html.len) {
        nni_atomic_abort(&page_file);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path,
                       strerror(e ? e : ENOSPC));
    }
    char dir[1100];
    size_t stem = strlen(path);
    if (stem > 5 && strcmp(path + stem - 5, ".html") == 0)
        stem -= 5;
    snprintf(dir, sizeof dir, "%.*s-plots", (int)stem, path);
    if (p->n_plots && nni_make_dirs(dir) != 0) {
        nni_atomic_abort(&page_file);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create the plots' directory (%s)", dir,
                       strerror(errno));
    }
    for (int i = 0; i < p->n_plots; i++) {
        char file[1200];
        snprintf(file, sizeof file, "%s/%s.%s", dir, p->plot_name[i],
                 p->plot_is_png[i] ? "png" : "svg");
        nni_text svg = {0};
        if (p->plot_is_png[i])
            nni_text_put(&svg, p->plot[i].data, p->plot[i].len);
        else {
            nni_text_puts(&svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            nni_text_puts(&svg, p->plot[i].data);
        }
        st = svg.failed ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                        : nni_write_file_atomic(file, svg.data, svg.len, err);
        nni_text_free(&svg);
        if (st) {
            nni_atomic_abort(&page_file);
            return st;
        }
    }
    return nni_atomic_commit(&page_file, err);
}

void nni_page_free(nni_page *p)
{
    nni_text_free(&p->html);
    nni_text_free(&p->scratch);
    for (int i = 0; i < p->n_plots; i++) {
        free(p->plot_name[i]);
        nni_text_free(&p->plot[i]);
        p->plot_is_png[i] = 0;
    }
    p->n_plots = 0;
}
