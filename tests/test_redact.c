/* common/redact: keyed fingerprints of secret header values. */
#include <criterion/criterion.h>
#include <string.h>

#include "redact.h"

TestSuite(redact, .timeout = 10);

Test(redact, the_fingerprint_is_hmac_sha256_of_the_value)
{
    struct redactor *r;
    struct error err;
    char hex[17];

    /* RFC 4231, test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?")
     * = 5bdcc146bf60754e6a042426089575c7... */
    cr_assert_eq(redactor_new_with_key(&r, "Jefe", 4, &err), 0, "%s", err.message);
    redactor_fingerprint(r, "what do ya want for nothing?", 28, hex);
    cr_expect_str_eq(hex, "5bdcc146bf60754e");
    redactor_free(r);

    /* Case 6: a 131-byte key is hashed first. */
    unsigned char key[131];
    memset(key, 0xaa, sizeof key);
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    cr_assert_eq(redactor_new_with_key(&r, key, sizeof key, &err), 0);
    redactor_fingerprint(r, data, strlen(data), hex);
    cr_expect_str_eq(hex, "60e431591ee0b67f");
    redactor_free(r);
}

Test(redact, authorization_keeps_its_scheme_and_equal_secrets_stay_equal)
{
    struct redactor *r;
    struct error err;
    struct buf a, b, c;

    cr_assert_eq(redactor_new(&r, &err), 0, "%s", err.message);
    buf_init(&a, 4096);
    buf_init(&b, 4096);
    buf_init(&c, 4096);
    cr_assert_eq(redactor_value(r, "authorization", 13, "Bearer tok-1", 12, &a), 0);
    cr_assert_eq(redactor_value(r, "Authorization", 13, "Bearer tok-1", 12, &b), 0);
    cr_assert_eq(redactor_value(r, "Authorization", 13, "Bearer tok-2", 12, &c), 0);
    cr_expect_eq(strncmp(a.data, "Bearer [redacted:hmac:", 22), 0, "%s", a.data);
    cr_expect_eq(a.len, 7 + REDACT_MARK_LEN);
    cr_expect_str_eq(a.data, b.data);
    cr_expect_str_neq(a.data, c.data);

    buf_reset(&a);
    cr_assert_eq(redactor_value(r, "Cookie", 6, "sid=1; theme=dark", 17, &a), 0);
    cr_expect_eq(a.len, REDACT_MARK_LEN, "cookies are replaced whole: %s", a.data);
    cr_expect_eq(strncmp(a.data, "[redacted:hmac:", 15), 0);

    buf_reset(&a);
    cr_assert_eq(redactor_value(r, "Authorization", 13, "opaque", 6, &a), 0);
    cr_expect_eq(a.len, REDACT_MARK_LEN, "no scheme to keep: %s", a.data);

    buf_release(&a);
    buf_release(&b);
    buf_release(&c);
    redactor_free(r);
}

Test(redact, names_are_matched_without_case_and_can_be_added)
{
    struct redactor *r, *other;
    struct error err;
    char h1[17], h2[17];

    cr_assert_eq(redactor_new(&r, &err), 0);
    cr_expect(redactor_is_secret(r, "SET-COOKIE", 10));
    cr_expect(redactor_is_secret(r, "proxy-authorization", 19));
    cr_expect(!redactor_is_secret(r, "X-Api-Key", 9));
    cr_assert_eq(redactor_add_header(r, "x-api-key", &err), 0);
    cr_expect(redactor_is_secret(r, "X-Api-Key", 9));
    cr_expect_neq(redactor_add_header(r, "", &err), 0);

    /* Each run has its own key: fingerprints do not carry across runs. */
    cr_assert_eq(redactor_new(&other, &err), 0);
    redactor_fingerprint(r, "same", 4, h1);
    redactor_fingerprint(other, "same", 4, h2);
    cr_expect_str_neq(h1, h2);
    redactor_free(r);
    redactor_free(other);
}
