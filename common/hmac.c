#include "hmac.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 64 /* SHA-256 block size */

struct hmac_key {
    /* The padded key already absorbed: each MAC copies these states
     * instead of hashing the key again. */
    EVP_MD_CTX *inner, *outer, *work;
};

struct hmac_key *hmac_key_new(const void *key, size_t len)
{
    struct hmac_key *k = calloc(1, sizeof *k);
    unsigned char pad[BLOCK], kb[BLOCK] = {0};
    const EVP_MD *md = EVP_sha256();
    unsigned int n;
    int ok;

    if (!k)
        return NULL;
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    k->work = EVP_MD_CTX_new();
    ok = k->inner && k->outer && k->work;
    if (ok && len > BLOCK)
        ok = EVP_Digest(key, len, kb, &n, md, NULL);
    else if (ok)
        memcpy(kb, key, len);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = kb[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(k->inner, md, NULL) && EVP_DigestUpdate(k->inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = kb[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(k->outer, md, NULL) && EVP_DigestUpdate(k->outer, pad, BLOCK);
    memset(kb, 0, sizeof kb);
    memset(pad, 0, sizeof pad);
    if (!ok) {
        hmac_key_free(k);
        return NULL;
    }
    return k;
}

void hmac_key_free(struct hmac_key *k)
{
    if (!k)
        return;
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    EVP_MD_CTX_free(k->work);
    free(k);
}

bool hmac_sha256(struct hmac_key *k, const void *data, size_t len,
                 unsigned char out[HMAC_SHA256_LEN])
{
    unsigned char inner[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    return EVP_MD_CTX_copy_ex(k->work, k->inner) && EVP_DigestUpdate(k->work, data, len) &&
           EVP_DigestFinal_ex(k->work, inner, &n) && EVP_MD_CTX_copy_ex(k->work, k->outer) &&
           EVP_DigestUpdate(k->work, inner, n) && EVP_DigestFinal_ex(k->work, out, &n);
}
