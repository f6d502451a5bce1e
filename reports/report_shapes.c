/*
 * report_shapes.c — the documented shapes of the report's inputs: DIFF.json
 * (docs/diff-format.md) and the report context (docs/report-format.md), as
 * json_shape.h tables.  Members that are not listed are ignored (formats
 * may add fields); "required" marks what a report cannot do without.
 */
#include "json_shape.h"
#include "report_internal.h"

/* ------------------------------------------------------------ the shapes */

static const struct jshape s_any = {.kind = JSHAPE_ANY};
static const struct jshape s_string = {.kind = JSHAPE_STRING};
static const struct jshape s_string_or_null = {.kind = JSHAPE_STRING, .nullable = true};
static const struct jshape s_count = {.kind = JSHAPE_COUNT};
static const struct jshape s_int = {.kind = JSHAPE_INT};
static const struct jshape s_int_or_null = {.kind = JSHAPE_INT, .nullable = true};
static const struct jshape s_number = {.kind = JSHAPE_NUMBER};
static const struct jshape s_number_or_null = {.kind = JSHAPE_NUMBER, .nullable = true};
static const struct jshape s_bool = {.kind = JSHAPE_BOOL};
static const struct jshape s_strings = {.kind = JSHAPE_ARRAY, .items = &s_string};
static const struct jshape s_counts_map = {.kind = JSHAPE_MAP, .items = &s_count};
static const struct jshape s_counts_array = {.kind = JSHAPE_ARRAY, .items = &s_count};

static const char *const risk_values[] = {"high", "medium", "low", "none", NULL};
static const struct jshape s_risk = {.kind = JSHAPE_STRING, .values = risk_values,
                                     .what = "a risk"};
static const char *const result_values[] = {"pass", "regressions", "no_data", NULL};
static const struct jshape s_result = {.kind = JSHAPE_STRING, .values = result_values,
                                       .what = "a verdict"};
static const char *const encoding_values[] = {"json", "text", "base64", NULL};
static const struct jshape s_encoding = {.kind = JSHAPE_STRING, .values = encoding_values,
                                         .what = "a body encoding"};

static const struct jshape_member m_result_file[] = {
    {"path", &s_string, true},
    {"sha256", &s_string_or_null, false},
    {"trace", &s_string_or_null, false},
    {"transactions", &s_count, false},
    {NULL, NULL, false},
};
static const struct jshape s_result_file = {.kind = JSHAPE_OBJECT, .members = m_result_file};
static const struct jshape_member m_target_ref[] = {
    {"name", &s_string, true},
    {"url", &s_string_or_null, false},
    {NULL, NULL, false},
};
static const struct jshape s_target_ref = {.kind = JSHAPE_OBJECT, .members = m_target_ref};
static const struct jshape_member m_rules_file[] = {
    {"path", &s_string, true},
    {"sha256", &s_string_or_null, false},
    {NULL, NULL, false},
};
static const struct jshape s_rules_file = {.kind = JSHAPE_OBJECT, .nullable = true,
                                           .members = m_rules_file};
static const struct jshape_member m_inputs[] = {
    {"results", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_result_file}, false},
    {"base", &s_string, true},
    {"candidate", &s_string, true},
    {"noise", &s_string_or_null, false},
    {"targets", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_target_ref}, false},
    {"rules", &s_rules_file, false},
    {"reproduce", &s_strings, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_thresholds[] = {
    {"relative", &s_number, false},
    {"absolute", &s_number, false},
    {"status", &s_number, false},
    {"error_rate", &s_number, false},
    {"latency_p99_ratio", &s_number_or_null, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_reason[] = {
    {"kind", &s_string, true},
    {"endpoint", &s_string_or_null, false},
    {"path", &s_string_or_null, false},
    {"header", &s_string_or_null, false},
    {"rule", &s_string, true},
    {"risk", &s_risk, false},
    {NULL, NULL, false},
};
static const struct jshape s_reason = {.kind = JSHAPE_OBJECT, .members = m_reason};
static const struct jshape_member m_verdict[] = {
    {"result", &s_result, true},
    {"exit_code", &s_int, true},
    {"summary", &s_string, true},
    {"reasons", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_reason}, true},
    {NULL, NULL, false},
};
static const struct jshape_member m_totals[] = {
    {"transactions", &s_count, true},
    {"compared", &s_count, true},
    {"skipped", &s_counts_map, false},
    {"identical", &s_count, false},
    {"different_raw", &s_count, false},
    {"different_after_noise", &s_count, false},
    {"status_mismatches", &s_count, false},
    {"noise_compared", &s_count, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_percentiles[] = {
    {"p50", &s_number, false},
    {"p90", &s_number, false},
    {"p95", &s_number, false},
    {"p99", &s_number, false},
    {"max", &s_number, false},
    {NULL, NULL, false},
};
static const struct jshape s_percentiles = {.kind = JSHAPE_OBJECT, .members = m_percentiles};
static const struct jshape s_pair = {.kind = JSHAPE_ARRAY, .items = &s_count,
                                     .what = "a [bucket, count] pair"};
static const struct jshape_member m_histogram[] = {
    {"scheme", &s_string, true},
    {"counts", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_pair}, true},
    {NULL, NULL, false},
};
static const struct jshape_member m_target[] = {
    {"requests", &s_count, false},
    {"errors", &s_counts_map, false},
    {"status_classes", &s_counts_map, false},
    {"latency_us", &s_percentiles, false},
    {"histogram", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_histogram}, false},
    {NULL, NULL, false},
};
static const struct jshape s_target = {.kind = JSHAPE_OBJECT, .members = m_target};
static const struct jshape_member m_counts3[] = {
    {"raw", &s_count, true},
    {"noise", &s_count, true},
    {"remaining", &s_count, true},
    {NULL, NULL, false},
};
static const struct jshape s_counts3 = {.kind = JSHAPE_OBJECT, .members = m_counts3};
static const struct jshape_member m_change[] = {
    {"base", &s_int_or_null, false},
    {"candidate", &s_int_or_null, false},
    {"count", &s_count, true},
    {NULL, NULL, false},
};
static const struct jshape_member m_status[] = {
    {"mismatches", &s_count, true},
    {"changes", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                       .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                       .members = m_change}},
     false},
    {NULL, NULL, false},
};
static const struct jshape_member m_field[] = {
    {"path", &s_string, false},
    {"header", &s_string, false},
    {"kind", &s_string, false},
    {"raw", &s_count, true},
    {"noise", &s_count, true},
    {"remaining", &s_count, true},
    {"raw_rate", &s_number, false},
    {"noise_rate", &s_number, false},
    {"remaining_rate", &s_number, false},
    {"regression", &s_bool, true},
    {"risk", &s_risk, false},
    {"examples", &s_counts_array, false},
    {NULL, NULL, false},
};
static const struct jshape s_header_pair = {.kind = JSHAPE_ARRAY, .items = &s_string,
                                            .what = "a [name, value] pair"};
static const struct jshape_member m_response[] = {
    {"status", &s_int_or_null, false},
    {"headers", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_header_pair}, false},
    {"body", &s_string_or_null, false},
    {"body_encoding", &s_encoding, false},
    {"truncated", &s_bool, false},
    {"body_sha256", &s_string, false},
    {"body_size", &s_count, false},
    {NULL, NULL, false},
};
static const struct jshape s_response = {.kind = JSHAPE_OBJECT, .members = m_response};
static const struct jshape_member m_example[] = {
    {"tx", &s_count, true},
    {"conn", &s_count, false},
    {"method", &s_string, false},
    {"target", &s_string, false},
    {"kinds", &s_strings, false},
    {"paths", &s_strings, false},
    {"patch", &(const struct jshape){.kind = JSHAPE_ARRAY, .nullable = true, .items = &s_any},
     false},
    {"noise_paths", &s_strings, false},
    {"base", &s_response, true},
    {"candidate", &s_response, true},
    {"noise", &s_response, false},
    {"captured", &s_response, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_endpoint[] = {
    {"endpoint", &s_string, true},
    {"method", &s_string, false},
    {"template", &s_string, false},
    {"requests", &s_count, true},
    {"compared", &s_count, true},
    {"status", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_status}, false},
    {"body", &s_counts3, false},
    {"headers", &s_counts3, false},
    {"errors", &(const struct jshape){.kind = JSHAPE_MAP, .items = &s_counts_map}, false},
    {"latency_us", &(const struct jshape){.kind = JSHAPE_MAP, .items = &s_percentiles}, false},
    {"risk", &s_risk, false},
    {"regression", &s_bool, true},
    {"fields", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                      .members = m_field}},
     false},
    {"examples", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                        .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                        .members = m_example}},
     false},
    {NULL, NULL, false},
};
static const struct jshape_member m_rule[] = {
    {"id", &s_string, true},
    {"where", &s_string_or_null, false},
    {"kind", &s_string, false},
    {"pattern", &s_string_or_null, false},
    {"endpoint", &s_string_or_null, false},
    {"hits", &s_count, true},
    {NULL, NULL, false},
};
static const struct jshape_member m_redaction[] = {
    {"headers", &s_strings, false},
    {"json_paths", &s_strings, false},
    {"values_redacted", &s_count, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_caps[] = {
    {"endpoints", &s_count, false},
    {"fields_per_endpoint", &s_count, false},
    {"examples_per_endpoint", &s_count, false},
    {"examples_per_field", &s_count, false},
    {"example_body_bytes", &s_count, false},
    {"hit", &s_counts_map, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_diff[] = {
    {"format", &s_string, true},
    {"version", &s_count, true},
    {"created_by", &s_string, false},
    {"created_us", &s_int, false},
    {"inputs", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_inputs}, true},
    {"thresholds", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_thresholds},
     true},
    {"verdict", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_verdict}, true},
    {"totals", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_totals}, true},
    {"targets", &(const struct jshape){.kind = JSHAPE_MAP, .items = &s_target}, true},
    {"endpoints", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                         .items = &(const struct jshape){
                                             .kind = JSHAPE_OBJECT, .members = m_endpoint}},
     true},
    {"rules", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                     .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                     .members = m_rule}},
     false},
    {"redaction", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_redaction}, false},
    {"caps", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_caps}, false},
    {NULL, NULL, false},
};
const struct jshape report_diff_shape = {.kind = JSHAPE_OBJECT, .members = m_diff,
                                     .what = "a DIFF.json object"};

/* The context (docs/report-format.md, "The context"). */
static const struct jshape_member m_run[] = {
    {"scenario", &s_string, false},
    {"status", &s_string, false},
    {"started_at", &s_string, false},
    {"duration_ms", &s_number, false},
    {"journal", &s_string, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_step[] = {
    {"name", &s_string, true},
    {"kind", &s_string, false},
    {"status", &s_string, true},
    {"start_ms", &s_number, true},
    {"end_ms", &s_number_or_null, false},
    {"depth", &s_count, false},
    {"message", &s_string_or_null, false},
    {NULL, NULL, false},
};
/* What a target did during a fault (reports/fault_impact.h). */
static const struct jshape_member m_impact[] = {
    {"target", &s_string, true},
    {"requests", &s_count, true},
    {"failed", &s_count, true},
    {"errors", &s_counts_map, false},
    {"hung", &s_count, false},
    {"p50_ms", &s_number, false},
    {"p99_ms", &s_number, false},
    {"after", &s_count, false},
    {"recovery_ms", &s_number_or_null, false},
    {"recovered", &s_bool, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_fault[] = {
    {"name", &s_string, true},
    {"kind", &s_string, false},
    {"target", &s_string, false},
    {"start_ms", &s_number, true},
    {"end_ms", &s_number_or_null, false},
    {"detail", &s_string_or_null, false},
    {"impact", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                      .members = m_impact}},
     false},
    {NULL, NULL, false},
};
/* A target's series: [[t_ms, requests, failed, p50_ms, p99_ms], ...]. */
static const struct jshape s_point = {.kind = JSHAPE_ARRAY,
                                      .items = &s_number,
                                      .what = "a point [t_ms, requests, failed, p50_ms, p99_ms]"};
static const struct jshape_member m_series_target[] = {
    {"name", &s_string, true},
    {"points", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_point}, true},
    {NULL, NULL, false},
};
static const struct jshape_member m_series[] = {
    {"bucket_ms", &s_number, true},
    {"targets", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                       .items = &(const struct jshape){
                                           .kind = JSHAPE_OBJECT, .members = m_series_target}},
     true},
    {NULL, NULL, false},
};
static const struct jshape_member m_event[] = {
    {"at_ms", &s_number, true},
    {"kind", &s_string, true},
    {"message", &s_string_or_null, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_timeline[] = {
    {"duration_ms", &s_number, false},
    {"series", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_series}, false},
    {"steps", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                     .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                     .members = m_step}},
     false},
    {"faults", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                      .members = m_fault}},
     false},
    {"events", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                      .members = m_event}},
     false},
    {NULL, NULL, false},
};
static const struct jshape_member m_check[] = {
    {"step", &s_string, false},
    {"metric", &s_string, true},
    {"value", &s_number_or_null, false},
    {"min", &s_number_or_null, false},
    {"max", &s_number_or_null, false},
    {"passed", &s_bool, true},
    {"message", &s_string_or_null, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_assertions[] = {
    {"checks", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                      .members = m_check}},
     true},
    {NULL, NULL, false},
};
static const struct jshape_member m_schema_change[] = {
    {"kind", &s_string, true},
    {"object", &s_string, true},
    {"detail", &s_string_or_null, false},
    {"regression", &s_bool, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_column[] = {
    {"column", &s_string, true},
    {"changed", &s_count, true},
    {NULL, NULL, false},
};
static const struct jshape_member m_row_example[] = {
    {"key", &s_string, true},
    {"column", &s_string_or_null, false},
    {"base", &s_string_or_null, false},
    {"candidate", &s_string_or_null, false},
    {NULL, NULL, false},
};
static const struct jshape_member m_table[] = {
    {"table", &s_string, true},
    {"rows_base", &s_count, false},
    {"rows_candidate", &s_count, false},
    {"missing", &s_count, false},
    {"extra", &s_count, false},
    {"changed", &s_count, false},
    {"regression", &s_bool, false},
    {"columns", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                       .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                       .members = m_column}},
     false},
    {"examples", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                        .items = &(const struct jshape){
                                            .kind = JSHAPE_OBJECT, .members = m_row_example}},
     false},
    {NULL, NULL, false},
};
static const struct jshape_member m_database[] = {
    {"base", &s_string, false},
    {"candidate", &s_string, false},
    {"regression", &s_bool, true},
    {"summary", &s_string_or_null, false},
    {"schema", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){
                                          .kind = JSHAPE_OBJECT, .members = m_schema_change}},
     false},
    {"tables", &(const struct jshape){.kind = JSHAPE_ARRAY,
                                      .items = &(const struct jshape){.kind = JSHAPE_OBJECT,
                                                                      .members = m_table}},
     false},
    {NULL, NULL, false},
};
static const struct jshape_member m_context[] = {
    {"format", &s_string, true},
    {"version", &s_count, true},
    {"run", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_run}, false},
    {"timeline", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_timeline}, false},
    {"assertions", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_assertions},
     false},
    {"database", &(const struct jshape){.kind = JSHAPE_OBJECT, .members = m_database}, false},
    {NULL, NULL, false},
};
const struct jshape report_context_shape = {.kind = JSHAPE_OBJECT, .members = m_context,
                                        .what = "a report context object"};

