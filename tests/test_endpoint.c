/* Endpoint templating: the variable parts of a path become {id}. */
#include <criterion/criterion.h>
#include <string.h>

#include "endpoint.h"
#include "errors.h"

static void expect_path(const char *target, const char *want)
{
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(endpoint_template_path(&b, target, strlen(target)), 0);
    cr_assert_str_eq(b.data, want, "template of '%s'", target);
    buf_release(&b);
}

Test(endpoint, numeric_uuid_and_long_hex_segments_become_id)
{
    expect_path("/users/123", "/users/{id}");
    expect_path("/users/123/orders/9", "/users/{id}/orders/{id}");
    expect_path("/u/3fa85f64-5717-4562-b3fc-2c963f66afa6", "/u/{id}");
    expect_path("/u/3FA85F64-5717-4562-B3FC-2C963F66AFA6/x", "/u/{id}/x");
    expect_path("/blobs/9f86d081884c7d659a2feaa0c55ad015", "/blobs/{id}");
    expect_path("/o/507f1f77bcf86cd799439011", "/o/{id}"); /* a MongoDB object id */
}

Test(endpoint, words_versions_and_short_hex_stay)
{
    expect_path("/api/v1/users", "/api/v1/users");
    expect_path("/cafe/beef", "/cafe/beef");
    expect_path("/deadbeefdeadbeefdeadbeef", "/deadbeefdeadbeefdeadbeef"); /* no digit */
    expect_path("/a1b2c3", "/a1b2c3");           /* short hex */
    expect_path("/static/app.js", "/static/app.js");
    expect_path("/3fa85f64-5717-4562-b3fc", "/3fa85f64-5717-4562-b3fc"); /* not a UUID */
    expect_path("/file-123.json", "/file-123.json");
}

Test(endpoint, query_fragment_and_absolute_form_are_reduced_to_the_path)
{
    expect_path("/search?q=1&page=2", "/search");
    expect_path("/a/1#frag", "/a/{id}");
    expect_path("http://proxy.example:8080/v2/items/77?x", "/v2/items/{id}");
    expect_path("https://h", "/");
    expect_path("", "/");
    expect_path("?x=1", "/");
    expect_path("*", "*");
}

Test(endpoint, empty_segments_and_trailing_slashes_are_kept)
{
    expect_path("/", "/");
    expect_path("/users/", "/users/");
    expect_path("/users//42/", "/users//{id}/");
}

Test(endpoint, template_prefixes_the_method)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(endpoint_template(&b, "GET", "/users/42", 9), 0);
    cr_assert_str_eq(b.data, "GET /users/{id}");
    buf_release(&b);
}

Test(endpoint, a_path_over_the_buffer_limit_fails_cleanly)
{
    struct buf b;
    buf_init(&b, 8);
    cr_assert_eq(endpoint_template_path(&b, "/a/very/long/path", 17), ERR_TOOBIG);
    buf_release(&b);
}
