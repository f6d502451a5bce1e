#include "sha256.h"

#include <openssl/evp.h>

bool sha256_digest(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == SHA256_LEN;
}

bool sha256_hex(const void *data, size_t len, char hex[2 * SHA256_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[SHA256_LEN];

    if (!sha256_digest(data, len, md))
        return false;
    for (int i = 0; i < SHA256_LEN; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * SHA256_LEN] = '\0';
    return true;
}
