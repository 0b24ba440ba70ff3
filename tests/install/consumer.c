/* consumer.c - a program using the installed libmlgate through pkg-config: scan a fixture, fit a model. */
#include <stdio.h>
#include <string.h>

#include <mlgate/mlgate.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    mg_target t[4];
    size_t nt;
    char err[256];
    if (mg_targets_parse("H100,RTX 5090", t, 4, &nt, err, sizeof err) != MG_OK)
        return 2;
    mg_scan_opts o = {.targets = t, .ntargets = nt};
    const char *paths[] = {argv[1]};
    mg_scan_result res;
    int rc = mg_scan_paths(&o, paths, 1, &res);
    for (size_t i = 0; rc == MG_OK && i < res.nreports; i++)
        printf("%s: %s on %s\n", res.reports[i]->path, mg_status_str(res.reports[i]->verdicts[0].status), t[0].name);
    mg_scan_result_free(&res);
    mg_model *m = mg_model_open(argv[2]);
    mg_model_summary s;
    mg_model_summarize(m, &s);
    printf("%s: %s, %llu tensors\n", argv[2], s.arch ? s.arch : "?", (unsigned long long)s.tensors);
    mg_model_free(m);
    return rc;
}
