/*
 * test_stream.c - a file scanned as a stream (stream.c) reports exactly what a scan of the whole
 * buffer reports, at every chunk size: the JSON of both, fatbin lists included, must be the same.
 * usage: test_stream [FILE|DIR...]   (default: the committed fixtures; a directory: its ELF files)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "binaries/scan_int.h"
#include "mlgate/binaries.h"

static mg_target targets[8];
static size_t ntargets;

static char *report_json(mg_report *r)
{
    mg_scan_result res;
    memset(&res, 0, sizeof res);
    res.reports = &r;
    res.nreports = 1;
    res.targets = targets;
    res.ntargets = ntargets;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mg_scan_json(f, &res, 1);
    fclose(f);
    return text;
}

static mg_report *streamed(const mg_scan_opts *o, const char *name, const uint8_t *buf, size_t len, size_t chunk)
{
    mg_stream *s = mg_stream_new(o, name, len);
    if (!s)
        return NULL;
    for (size_t off = 0; off < len; off += chunk)
        mg_stream_feed(s, buf + off, len - off < chunk ? len - off : chunk);
    return mg_stream_end(s, 0, NULL);
}

/* 0 when every chunk size agrees with the buffer's scan; prints the first difference. */
static int check_file(const char *path, int *checked)
{
    char err[128];
    char *buf;
    size_t len;
    if (mg_read_all(path, 2ull << 30, &buf, &len, err, sizeof err) != MG_OK || len < 64 ||
        memcmp(buf, "\177ELF", 4) != 0) {
        free(buf);
        return 0;
    }
    mg_scan_opts o;
    memset(&o, 0, sizeof o);
    o.targets = targets;
    o.ntargets = ntargets;
    mg_report *want = mg_scan_buffer(&o, path, (const uint8_t *)buf, len);
    char *wj = report_json(want);
    static const size_t chunks[] = {SIZE_MAX, 1u << 20, 65537, 4096, 7, 3, 1};
    int bad = 0;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0] && !bad; i++) {
        if (chunks[i] < 4096 && len > (4u << 20))
            continue;   /* byte-by-byte through a big library: minutes, and the same code */
        mg_report *got = streamed(&o, path, (const uint8_t *)buf, len, chunks[i] == SIZE_MAX ? len : chunks[i]);
        char *gj = got ? report_json(got) : NULL;
        if (!gj || strcmp(wj, gj) != 0) {
            size_t k = 0;
            while (gj && wj[k] && wj[k] == gj[k])
                k++;
            fprintf(stderr, "DIFFERS %s at chunk %zu, byte %zu:\n  buffer: %.300s\n  stream: %.300s\n", path,
                    chunks[i], k, wj + (k > 80 ? k - 80 : 0), gj ? gj + (k > 80 ? k - 80 : 0) : "(no report)");
            bad = 1;
        }
        free(gj);
        mg_report_free(got);
    }
    free(wj);
    mg_report_free(want);
    free(buf);
    ++*checked;
    return bad;
}

static int check_path(const char *path, int *checked)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    if (!S_ISDIR(st.st_mode))
        return check_file(path, checked);
    DIR *d = opendir(path);
    struct dirent *de;
    int bad = 0;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *child;
        if (asprintf(&child, "%s/%s", path, de->d_name) < 0)
            return 1;
        if (lstat(child, &st) == 0 && S_ISREG(st.st_mode))
            bad |= check_file(child, checked);
        free(child);
    }
    if (d)
        closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    char err[128];
    if (mg_targets_parse("H100,RTX 5090,V100,GTX 1080 Ti,B200,GB10", targets, 8, &ntargets, err, sizeof err)) {
        fprintf(stderr, "targets: %s\n", err);
        return 1;
    }
    int bad = 0, checked = 0;
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            bad |= check_path(argv[i], &checked);
    else
        bad = check_path(FIXTURES, &checked);
    printf("%d ELF files: %s\n", checked, bad ? "a streamed scan differs" : "streamed scans agree");
    return bad || checked == 0;
}
