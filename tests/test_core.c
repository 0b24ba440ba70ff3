/* test_core.c - lib/core: the child process with a deadline, atomic writes and what may be written, bounded reads, units, the JSON writer, the sanitiser. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/child.h"
#include "core/file.h"
#include "core/json.h"
#include "core/text.h"
#include "mlgate/core.h"

/* Runs argv under a deadline; its output in out, its wait status returned. */
static int run(const char *const *argv, double seconds, char *out, size_t n, mg_child *c)
{
    char err[256];
    assert_int_equal(mg_child_exec(c, argv, err, sizeof err), MG_OK);
    double deadline = mg_now() + seconds;
    size_t len = 0;
    long got;
    while ((got = mg_child_read(c, out + len, n - 1 - len, deadline)) > 0)
        len += (size_t)got;
    out[len] = 0;
    return mg_child_end(c, got < 0 ? 0 : deadline);
}

static void exec_output_and_status(void **state)
{
    (void)state;
    char out[256];
    mg_child c;
    const char *argv[] = {"sh", "-c", "echo hello; echo oops >&2; exit 3", NULL};
    int st = run(argv, 5, out, sizeof out, &c);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    assert_non_null(strstr(out, "hello\n"));
    assert_non_null(strstr(out, "oops\n"));   /* stderr too */
    assert_false(c.timed_out || c.killed);
    const char *missing[] = {"/nonexistent/program", NULL};
    st = run(missing, 5, out, sizeof out, &c);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 127);
    assert_non_null(strstr(out, "cannot run /nonexistent/program"));
}

static void exec_deadline_kills_the_group(void **state)
{
    (void)state;
    char out[64];
    mg_child c;
    const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
    double t0 = mg_now();
    int st = run(argv, 0.3, out, sizeof out, &c);
    assert_true(mg_now() - t0 < 2);
    assert_true(c.timed_out && c.killed);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* A program that exits 0 but leaves a background process holding its output: done when it exits. */
static void exec_background_child_does_not_hold_the_gate(void **state)
{
    (void)state;
    char out[64];
    mg_child c;
    const char *argv[] = {"sh", "-c", "sleep 30 & echo started", NULL};
    double t0 = mg_now();
    int st = run(argv, 10, out, sizeof out, &c);
    assert_true(mg_now() - t0 < 2);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_false(c.timed_out || c.killed);
    assert_string_equal(out, "started\n");
}

/* A host process that ignores SIGCHLD (children reaped by the kernel): no hang, no signal to a stranger. */
static void exec_with_sigchld_ignored(void **state)
{
    (void)state;
    char out[64];
    mg_child c;
    signal(SIGCHLD, SIG_IGN);
    const char *argv[] = {"sh", "-c", "echo quick; exit 3", NULL};
    double t0 = mg_now();
    run(argv, 10, out, sizeof out, &c);
    signal(SIGCHLD, SIG_DFL);
    assert_true(mg_now() - t0 < 2);
    assert_string_equal(out, "quick\n");
    assert_true(c.lost);
    assert_false(c.killed);
}

static int write_record(int fd, void *arg)
{
    return write(fd, arg, 8) == 8 ? 7 : 1;
}

static void fork_record(void **state)
{
    (void)state;
    mg_child c;
    char err[128], rec[8];
    assert_int_equal(mg_child_fork(&c, write_record, "12345678", err, sizeof err), MG_OK);
    assert_int_equal(mg_child_read_record(&c, rec, sizeof rec, mg_now() + 5), 1);
    assert_memory_equal(rec, "12345678", 8);
    assert_int_equal(mg_child_read_record(&c, rec, sizeof rec, mg_now() + 5), 0);   /* then the end */
    int st = mg_child_end(&c, mg_now() + 5);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

static void on_alarm(int sig) { (void)sig; }

/* A storm of signals without SA_RESTART: every read, write and wait sees EINTR, and nothing is lost. */
static void interrupted_calls(void **state)
{
    (void)state;
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_alarm;   /* no SA_RESTART: system calls return EINTR */
    sigaction(SIGALRM, &sa, &old);
    struct itimerval every = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every, NULL);
    static char out[1 << 20];
    mg_child c;
    const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i + 1)); done; sleep 0.2; echo end",
                          NULL};
    int st = run(argv, 30, out, sizeof out, &c);
    char dir[] = "/tmp/mg-eintr-XXXXXX", path[128], err[256], *text;
    size_t len;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/caps.json", dir);
    static char big[4 << 20];
    memset(big, 'x', sizeof big);
    int w = mg_write_atomic(path, big, sizeof big, 0, err, sizeof err);
    int r = mg_read_all(path, sizeof big, &text, &len, err, sizeof err);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_false(c.timed_out || c.killed);
    assert_non_null(strstr(out, "line0\nline1\n"));
    assert_non_null(strstr(out, "line2999\nend\n"));
    assert_int_equal(w, MG_OK);
    assert_int_equal(r, MG_OK);
    assert_int_equal(len, sizeof big);
    assert_memory_equal(text, big, sizeof big);
    free(text);
    unlink(path);
    rmdir(dir);
}

static void atomic_writes_and_writability(void **state)
{
    (void)state;
    char dir[] = "/tmp/mg-core-XXXXXX", path[128], link[128], victim[128], fifo[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/caps.json", dir);
    assert_int_equal(mg_write_atomic(path, "one\n", 4, 0, err, sizeof err), MG_OK);
    assert_int_equal(mg_write_atomic(path, "two\n", 4, 0, err, sizeof err), MG_OK);
    char *text;
    size_t len;
    assert_int_equal(mg_read_all(path, 100, &text, &len, err, sizeof err), MG_OK);
    assert_string_equal(text, "two\n");
    free(text);
    assert_int_equal(mg_read_all(path, 3, &text, &len, err, sizeof err), MG_E_LIMIT);
    /* a symlink at the published path is refused, never written through */
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(link, sizeof link, "%s/link.json", dir);
    assert_int_equal(mg_write_atomic(victim, "secret\n", 7, 0, err, sizeof err), MG_OK);
    assert_int_equal(symlink(victim, link), 0);
    assert_int_equal(mg_check_writable(link, 0, err, sizeof err), MG_E_IO);   /* said before a run */
    assert_int_equal(mg_write_atomic(link, "caps\n", 5, 0, err, sizeof err), MG_E_IO);
    assert_non_null(strstr(err, "a symlink"));
    assert_int_equal(mg_read_all(victim, 100, &text, &len, err, sizeof err), MG_OK);
    assert_string_equal(text, "secret\n");
    free(text);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    /* a directory every user may write is refused unless asked for; a stale temp file of ours is removed */
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(mg_write_atomic(path, "x\n", 2, 0, err, sizeof err), MG_E_IO);
    assert_non_null(strstr(err, "writable by every user"));
    assert_int_equal(mg_check_writable(path, 0, err, sizeof err), MG_E_IO);
    char stale[2][160];   /* ours (hidden) and an older version's, of a pid no process has */
    snprintf(stale[0], sizeof stale[0], "%s/.caps.json.tmp.999999999.1", dir);
    snprintf(stale[1], sizeof stale[1], "%s/caps.json.tmp.999999999.2", dir);
    for (int i = 0; i < 2; i++) {
        FILE *sf = fopen(stale[i], "w");
        assert_non_null(sf);
        fclose(sf);
    }
    assert_int_equal(mg_write_atomic(path, "three\n", 6, MG_FILE_SHARED_OK, err, sizeof err), MG_OK);
    assert_int_equal(access(stale[0], F_OK), -1);
    assert_int_equal(access(stale[1], F_OK), -1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(chmod(dir, 0700), 0);
    /* a FIFO is refused at once, not waited on */
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    double t0 = mg_now();
    assert_int_equal(mg_read_all(fifo, 100, &text, &len, err, sizeof err), MG_E_IO);
    const uint8_t *map;
    uint64_t size;
    assert_int_equal(mg_map_file(fifo, &map, &size, err, sizeof err), MG_E_IO);
    assert_true(mg_now() - t0 < 1);
    assert_int_equal(mg_check_writable(fifo, 0, err, sizeof err), MG_E_IO);
    assert_int_equal(mg_check_writable("/nonexistent/dir/caps.json", 0, err, sizeof err), MG_E_IO);
    assert_non_null(strstr(err, "does not exist"));
    assert_int_equal(mg_check_writable(path, 0, err, sizeof err), MG_OK);
    /* nothing is left behind: the temp files and the writability probe are gone */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 4", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void units(void **state)
{
    (void)state;
    char b[32];
    uint64_t v;
    double d;
    assert_string_equal(mg_human(167ull << 30, b), "167.0 GiB");
    assert_string_equal(mg_human(512, b), "512 B");
    assert_string_equal(mg_human_count(7620000000ull, b), "7.62 B");
    assert_int_equal(mg_parse_size("1.5GiB", &v), 0);
    assert_int_equal(v, 3ull << 29);
    assert_int_equal(mg_parse_size("lots", &v), -1);
    assert_int_equal(mg_parse_size("1e30", &v), -1);
    assert_int_equal(mg_parse_duration("500ms", &d), 0);
    assert_true(d > 0.49 && d < 0.51);
    assert_int_equal(mg_parse_duration("2m", &d), 0);
    assert_true(d > 119 && d < 121);
    assert_int_equal(mg_parse_duration("0", &d), -1);
    assert_int_equal(mg_parse_duration("2d", &d), -1);
}

static void json_writer(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    jw w = jw_on(f);
    jw_report(&w, "x");
    jw_kstr(&w, "s", "a\"b\\c\n\x01");
    jw_kstr(&w, "u", "\xc3\xa9\xff\xc3");   /* a valid character, a byte that never is UTF-8, a cut character */
    jw_knum(&w, "inf", 1e308 * 10);
    jw_key(&w, "a");
    jw_begin_arr(&w);
    jw_int(&w, -1);
    jw_null(&w);
    jw_bool(&w, 1);
    jw_end_arr(&w);
    jw_kstr(&w, "none", NULL);
    jw_end_obj(&w);
    mg_json_error(f, "fit", MG_E_TRUNCATED, "x.gguf: cut");
    fclose(f);
    assert_string_equal(buf, "{\"mlgate\":\"" MLGATE_VERSION "\",\"command\":\"x\",\"s\":\"a\\\"b\\\\c\\n\\u0001\","
                             "\"u\":\"\xc3\xa9\\ufffd\\ufffd\",\"inf\":null,"
                             "\"a\":[-1,null,true],\"none\":null}\n"
                             "{\"mlgate\":\"" MLGATE_VERSION "\",\"command\":\"fit\",\"ok\":false,"
                             "\"error\":{\"code\":\"truncated\",\"message\":\"x.gguf: cut\"}}\n");
    free(buf);
}

/* What a server or a file says, as reports quote it. */
static const char *clean(const char *s, size_t cap, const char *secret)
{
    static char buf[256];
    assert_true(cap <= sizeof buf);
    return mg_text_clean(buf, cap, s, strlen(s), secret);
}

static void text_sanitiser(void **state)
{
    (void)state;
    /* keys: the configured one, shaped ones, after the words that introduce them; ordinary words kept */
    assert_string_equal(clean("invalid key: Bearer abc.DEF-123", 256, NULL), "invalid key: Bearer ***");
    assert_string_equal(clean("key s3cretvalue rejected", 256, "s3cretvalue"), "key *** rejected");
    assert_string_equal(clean("tried sk-proj-0123456789abcdefXYZ and hf_abcdefghijklmnopqr", 256, NULL),
                        "tried sk-*** and hf_***");
    assert_string_equal(clean("uses sk-learn and hf_hub, token=xyz", 256, NULL), "uses sk-learn and hf_hub, token=***");
    assert_string_equal(clean("Authorization: Basic dXNlcjpwYXNz", 256, NULL), "Authorization: ***");
    /* a key the input cuts short is still masked; so is the configured key's start at the end */
    assert_string_equal(clean("the end: sk-abc", 256, NULL), "the end: sk-***");
    assert_string_equal(clean("... s3cr", 256, "s3cretvalue"), "... ***");
    /* a key that would straddle the cut is masked before the cut, never shown in part */
    assert_string_equal(clean("0123456789 s3cretvalue tail", 18, "s3cretvalue"), "0123456789 ***...");
    assert_string_equal(clean("0123456789 s3cretvalue", 14, "s3cretvalue"), "0123456789...");
    /* UTF-8: kept whole, cut on boundaries, invalid bytes as U+FFFD; overlong and surrogates are invalid */
    assert_string_equal(clean("a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, NULL), "a\xc3\xa9...");
    assert_string_equal(clean("x\xffy\xc0\xafz\xed\xa0\x80", 256, NULL),
                        "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(clean("\xf0\x9f\x98\x80 ok", 256, NULL), "\xf0\x9f\x98\x80 ok");
    /* control characters: escapes dropped (the text kept), whitespace runs as one space, C1 dropped */
    assert_string_equal(clean("\x1b[31mred\x1b[0m\x07\r\n\tnext\xc2\x9b" "2J  ", 256, NULL), "[31mred[0m next2J");
    assert_string_equal(clean("ab", 3, NULL), "ab");
    assert_string_equal(clean("abcd", 4, NULL), "...");
    assert_string_equal(clean("abcde", 5, NULL), "a...");
    char one[1] = {'x'};
    assert_string_equal(mg_text_clean(one, 1, "abc", 3, NULL), "");
    uint32_t cp;
    assert_int_equal(mg_utf8_char((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp), 0);   /* past U+10FFFF */
    assert_int_equal(mg_utf8_char((const uint8_t *)"\xe2\x82\xac", 3, &cp), 3);
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(mg_utf8_char((const uint8_t *)"\xe2\x82", 2, &cp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exec_output_and_status), cmocka_unit_test(exec_deadline_kills_the_group),
        cmocka_unit_test(exec_background_child_does_not_hold_the_gate), cmocka_unit_test(exec_with_sigchld_ignored),
        cmocka_unit_test(fork_record),
        cmocka_unit_test(atomic_writes_and_writability), cmocka_unit_test(units), cmocka_unit_test(json_writer),
        cmocka_unit_test(text_sanitiser), cmocka_unit_test(interrupted_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
