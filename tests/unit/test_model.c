/*
 * test_model: the run state machine and the names the API and store exchange. The transition
 * table is written out here independently of src/model.c and compared pair by pair, so an
 * accidental change of which moves are allowed cannot pass unnoticed.
 */
#include "unit.h"

#include "model.h"

static const char *names[RUN_STATUS_COUNT] = {"QUEUED",     "RUNNING",   "SUCCESS",
                                              "FAILED",     "WARNING",   "CANCELLING",
                                              "CANCELLED",  "PARTIAL_SUCCESS"};
static const char codes[RUN_STATUS_COUNT] = {'Q', 'R', 'S', 'F', 'W', 'C', 'X', 'P'};

static void test_status_names_and_codes(void **state)
{
    (void)state;
    for (int s = 0; s < RUN_STATUS_COUNT; s++) {
        assert_string_equal(run_status_name(s), names[s]);
        assert_int_equal(run_status_code(s), codes[s]);
        assert_int_equal(run_status_from_code(codes[s]), s);
        assert_int_equal(run_status_parse(names[s]), s);
        char code[2] = {codes[s], 0};
        assert_int_equal(run_status_parse(code), s);
    }
    /* codes are unique, so the store can round-trip them */
    for (int a = 0; a < RUN_STATUS_COUNT; a++)
        for (int b = a + 1; b < RUN_STATUS_COUNT; b++)
            assert_int_not_equal(run_status_code(a), run_status_code(b));
    assert_string_equal(run_status_name(RUN_STATUS_COUNT), "UNKNOWN");
    assert_string_equal(run_status_name((enum run_status)-1), "UNKNOWN");
    assert_int_equal(run_status_code(RUN_STATUS_COUNT), '?');
    assert_int_equal(run_status_from_code('Z'), -1);
    assert_int_equal(run_status_from_code('\0'), -1);
}

static void test_status_parse(void **state)
{
    (void)state;
    assert_int_equal(run_status_parse("queued"), RUN_QUEUED);
    assert_int_equal(run_status_parse("Running"), RUN_RUNNING);
    assert_int_equal(run_status_parse("partial_success"), RUN_PARTIAL_SUCCESS);
    assert_int_equal(run_status_parse("cAnCeLlInG"), RUN_CANCELLING);
    assert_int_equal(run_status_parse("X"), RUN_CANCELLED);
    assert_int_equal(run_status_parse("P"), RUN_PARTIAL_SUCCESS);
    assert_int_equal(run_status_parse(NULL), -1);
    assert_int_equal(run_status_parse(""), -1);
    assert_int_equal(run_status_parse("DONE"), -1);
    assert_int_equal(run_status_parse("Z"), -1);
    assert_int_equal(run_status_parse("QUEUED "), -1);
    assert_int_equal(run_status_parse("QR"), -1);
}

static void test_terminal(void **state)
{
    (void)state;
    static const bool terminal[RUN_STATUS_COUNT] = {
        [RUN_SUCCESS] = true, [RUN_FAILED] = true, [RUN_WARNING] = true,
        [RUN_CANCELLED] = true, [RUN_PARTIAL_SUCCESS] = true};
    for (int s = 0; s < RUN_STATUS_COUNT; s++)
        assert_int_equal(run_status_terminal(s), terminal[s]);
}

static void test_transition_table(void **state)
{
    (void)state;
    /* allowed[from][to], as the run lifecycle is documented */
    bool allowed[RUN_STATUS_COUNT][RUN_STATUS_COUNT] = {{false}};
    allowed[RUN_QUEUED][RUN_RUNNING] = true;
    allowed[RUN_QUEUED][RUN_CANCELLING] = true;
    allowed[RUN_QUEUED][RUN_FAILED] = true; /* could not be started */
    allowed[RUN_RUNNING][RUN_SUCCESS] = true;
    allowed[RUN_RUNNING][RUN_PARTIAL_SUCCESS] = true;
    allowed[RUN_RUNNING][RUN_FAILED] = true;
    allowed[RUN_RUNNING][RUN_WARNING] = true;
    allowed[RUN_RUNNING][RUN_CANCELLING] = true;
    allowed[RUN_RUNNING][RUN_CANCELLED] = true;
    allowed[RUN_CANCELLING][RUN_CANCELLED] = true;
    allowed[RUN_CANCELLING][RUN_FAILED] = true; /* the process was gone first */
    int count = 0;
    for (int from = 0; from < RUN_STATUS_COUNT; from++) {
        for (int to = 0; to < RUN_STATUS_COUNT; to++) {
            if (run_status_allowed(from, to) != allowed[from][to])
                fail_msg("%s -> %s: expected %s", names[from], names[to],
                         allowed[from][to] ? "allowed" : "refused");
            count += allowed[from][to];
        }
        /* terminal states never move, and nothing moves back to QUEUED */
        if (run_status_terminal(from))
            for (int to = 0; to < RUN_STATUS_COUNT; to++)
                assert_false(run_status_allowed(from, to));
        assert_false(run_status_allowed(from, RUN_QUEUED));
        assert_false(run_status_allowed(from, from));
    }
    assert_int_equal(count, 11);
}

static void test_triggers(void **state)
{
    (void)state;
    static const char *t[] = {"manual", "scheduled", "retry", "chained", "backfill"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(run_trigger_name(i), t[i]);
        assert_int_equal(run_trigger_parse(t[i]), i);
    }
    assert_int_equal(TRIGGER_MANUAL, 0);
    assert_int_equal(TRIGGER_SCHEDULED, 1);
    assert_int_equal(TRIGGER_RETRY, 2);
    assert_int_equal(TRIGGER_CHAINED, 3);
    assert_int_equal(TRIGGER_BACKFILL, 4);
    assert_string_equal(run_trigger_name(5), "manual"); /* out of range falls back */
    assert_int_equal(run_trigger_parse("Manual"), -1);  /* stored lower-case, matched exactly */
    assert_int_equal(run_trigger_parse("cron"), -1);
    assert_int_equal(run_trigger_parse(NULL), -1);
}

static void test_log_levels_and_streams(void **state)
{
    (void)state;
    static const char *lv[LL_COUNT] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    for (int i = 0; i < LL_COUNT; i++) {
        assert_string_equal(log_line_level_name(i), lv[i]);
        assert_int_equal(log_line_level_parse(lv[i]), i);
    }
    /* ordered by severity: filters compare numerically */
    assert_true(LL_DEBUG < LL_INFO && LL_INFO < LL_WARNING && LL_WARNING < LL_ERROR &&
                LL_ERROR < LL_CRITICAL);
    assert_int_equal(log_line_level_parse("error"), LL_ERROR);
    assert_int_equal(log_line_level_parse("Critical"), LL_CRITICAL);
    assert_int_equal(log_line_level_parse("warn"), LL_WARNING);
    assert_int_equal(log_line_level_parse("WARN"), LL_WARNING);
    assert_int_equal(log_line_level_parse("fatal"), -1);
    assert_int_equal(log_line_level_parse(""), -1);
    assert_int_equal(log_line_level_parse(NULL), -1);
    assert_string_equal(log_line_level_name(LL_COUNT), "INFO");
    assert_string_equal(log_line_level_name(-1), "INFO");

    assert_string_equal(log_stream_name(STREAM_STDOUT), "stdout");
    assert_string_equal(log_stream_name(STREAM_STDERR), "stderr");
    assert_string_equal(log_stream_name(STREAM_SKED), "sked");
    assert_string_equal(log_stream_name(9), "sked");
}

static void test_init_and_release(void **state)
{
    (void)state;
    struct job j;
    job_init(&j);
    assert_true(j.active);
    assert_int_equal(j.timeout_ms, -1);
    assert_true(j.next_run == NO_TIME);
    assert_null(j.title);
    j.title = strdup("t");
    j.run_args = json_object();
    job_release(&j); /* frees and resets: a second release is harmless */
    assert_null(j.title);
    assert_null(j.run_args);
    job_release(&j);

    struct run r;
    run_init(&r);
    assert_int_equal(r.attempt, 1);
    assert_int_equal(r.timeout_ms, -1);
    assert_int_equal(r.status, RUN_QUEUED);
    assert_true(r.scheduled_for == NO_TIME && r.created == NO_TIME && r.updated == NO_TIME &&
                r.started_at == NO_TIME && r.finished_at == NO_TIME);
    r.message = strdup("m");
    r.args = json_object();
    r.started_by.name = strdup("n");
    run_release(&r);
    assert_null(r.message);
    assert_null(r.started_by.name);
    assert_int_equal(r.attempt, 1);
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names_and_codes),
        cmocka_unit_test(test_status_parse),
        cmocka_unit_test(test_terminal),
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_triggers),
        cmocka_unit_test(test_log_levels_and_streams),
        cmocka_unit_test(test_init_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
