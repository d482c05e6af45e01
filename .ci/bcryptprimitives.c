/*
 * A stand-in for Windows's bcryptprimitives.dll, for wine older than 8.13 (Debian bookworm has
 * 8.0), which lacks it. Rust's standard library (1.78 and later) imports ProcessPrng from it for
 * every program, so without it each one exits 53 at start. ProcessPrng is RtlGenRandom
 * (SystemFunction036 in advapi32) in chunks; it cannot fail on Windows, and Rust never checks.
 *
 *     x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
