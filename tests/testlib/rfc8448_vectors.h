/* RFC 8448 "Example Handshake Traces for TLS 1.3": the handshake messages
 * that more than one test checks (test_msg.c parses and writes them,
 * test_rfc8448.c runs them through the transcript and key schedule), as hex
 * copied from ../shared/specs/rfc8448-traces.txt. Each comment names the
 * trace section and the entry the bytes come from.
 *
 * Header-only: static arrays, so a test that includes it gets its own copy
 * and the ones it does not use cost nothing. */
#ifndef IOTLS_RFC8448_VECTORS_H
#define IOTLS_RFC8448_VECTORS_H

/* section 3, {client} construct a ClientHello / ClientHello (196 octets) */
static const char S3_CH[] = "010000c003036660261ff947cea49cce6cfad687f457cf1b14531ba14131a0e8"
                            "f309a1d0b9c4000006130113031302010000910000000b000900000673657276"
                            "6572ff01000100000a00140012001d0017001800190100010101020103010400"
                            "230000003300260024001d00204cfdfcd178b784bf328cae793b136f2aedce00"
                            "5ff183d7bb1495207236647037002b0003020304000d0020001e040305030603"
                            "020308040805080604010501060102010402050206020202002d00020101001c"
                            "00024001";

/* section 3, {server} construct a ServerHello / ServerHello (90 octets) */
static const char S3_SH[] = "0200005603031274991495cf425857262dde2299342c315afba9b64a87d55251"
                            "5614e01b045d00130100002e00330024001d0020c7bb6bdfc26350b929a08a41"
                            "a76ddac210b096868d960c4845987dc3a7fa650a002b00020304";

/* section 3, {server} construct an EncryptedExtensions / EncryptedExtensions (40 octets) */
static const char S3_EE[] = "080000240022000a00140012001d00170018001901000101010201030104001c"
                            "0002400100000000";

/* section 3, {server} construct a Certificate / Certificate (445 octets) */
static const char S3_CERT[] = "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a"
                              "864886f70d01010b0500300e310c300a06035504031303727361301e170d3136"
                              "303733303031323335395a170d3236303733303031323335395a300e310c300a"
                              "0603550403130372736130819f300d06092a864886f70d010101050003818d00"
                              "30818902818100b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826"
                              "d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c7ced4312"
                              "0998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda4308467480"
                              "30530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a"
                              "8d88d79f7f1e3f0203010001a31a301830090603551d1304023000300b060355"
                              "1d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5"
                              "b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a5"
                              "8c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102"
                              "702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0"
                              "a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000";

/* section 3, {server} construct a CertificateVerify / CertificateVerify (136 octets) */
static const char S3_CV[] = "0f00008408040080ace0af8e87d7c63cc9dbe7dcc12ff83bd55df0ccda9bf4e5"
                            "a0f70100d9bc4d25aa684fd9d347642c942222526e163e3b0fba312b10e9b67e"
                            "b0ac9c2be5fef490f81d7827e3bc12fa027ab439e71cc8459c14b94a8f3506ec"
                            "44547d6c23e19cc7f9d5e0d1f595108fc240f5b0842c485a321487c4950377a5"
                            "2e917294715567cd";

/* section 3, {server} construct a Finished / Finished (36 octets) */
static const char S3_SFIN[] = "140000204c92b1b256d861a1830167827d3e288d1a76f03484e9ec886d4ff661"
                              "49cbec2f";

/* section 3, {client} construct a Finished / Finished (36 octets) */
static const char S3_CFIN[] = "1400002080a2c0d6cbc21078dba30affbf091929278edc832db4bfa1c811c9e8"
                              "c67da9bb";

/* section 3, {server} construct a NewSessionTicket / NewSessionTicket (205 octets) */
static const char S3_NST[] = "040000c90000001e933d093202000000b2f35edae4e60404d6f40fa17f000000"
                             "008393d163fb4f5f105fe2056caeb32ac7007070045931026db07d58dd58090d"
                             "629af59ecb7fba353d5d9653a708fbcf0f515c1b82db6b08977179dfc684d22f"
                             "cf7bd5c12222ab63ffd9d2bc46176d144ae98ad93416894822ac5064065f9299"
                             "5a6f052fa3a731703657817ea7a8de73148661768f7f62098fb45c0a9dde04a9"
                             "cf1aa4206f13dd055df3ed5fa681bbf876e362ad9c0a68d2b5266c79aa806cbf"
                             "e6113b0008002a000400000400";

/* section 4, {client} calculate PSK binder / binder hash (32 octets):
 * SHA-256 of the ClientHello up to the binders */
static const char S4_BINDER_HASH[] =
    "6fd17487908d45ca0bb7d5e5a968f94aa43296b3fd578d0c102540c380a23e68";

/* section 4, {client} calculate PSK binder / finished (32 octets): the binder */
static const char S4_BINDER[] = "718cd8f22e8ed71d1a23f7c88f63d45487afe58157cbc57e66bd1323e41a8cd8";

/* section 4, {client} send handshake record / payload (512 octets): the
 * ClientHello as sent, with its binders */
static const char S4_CH[] = "010001fc0303750e184c0c28d365ffab68b74cb202fdb495ad19f527c6e6cebe"
                            "c35b443b9b35000006130113031302010001cd0000000b000900000673657276"
                            "6572ff01000100000a00140012001d0017001800190100010101020103010400"
                            "3300260024001d00205839e32b2b0e47211ff3098d998ed0379a07b299b84658"
                            "5b7fab62c61357d174002a0000002b0003020304000d0020001e040305030603"
                            "020308040805080604010501060102010402050206020202002d00020101001c"
                            "0002400100150057000000000000000000000000000000000000000000000000"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "0000000000000000000000000000000000000000000000000000000000000000"
                            "2900dd00b800b2f35edae4e60404d6f40fa17f000000008393d163fb4f5f105f"
                            "e2056caeb32ac7007070045931026db07d58dd58090d629af59ecb7fba353d5d"
                            "9653a708fbcf0f515c1b82db6b08977179dfc684d22fcf7bd5c12222ab63ffd9"
                            "d2bc46176d144ae98ad93416894822ac5064065f92995a6f052fa3a731703657"
                            "817ea7a8de73148661768f7f62098fb45c0a9dde04a9cf1aa4206f13dd055df3"
                            "ed5fa681bbf876e362ad9c0a68d2b5266c79aa806cbfe6113b933d0937002120"
                            "718cd8f22e8ed71d1a23f7c88f63d45487afe58157cbc57e66bd1323e41a8cd8";

/* section 4, {server} construct a ServerHello / ServerHello (96 octets) */
static const char S4_SH[] = "0200005c0303f79e0c03e63dcb0fafdc441f79065e0409a2ef2360f3c6549682"
                            "ffb72395f9d200130100003400290002000000330024001d00207abd53026c45"
                            "bd7be12f6c4db9d226a9b1527a76c825c07722201a314ae90d21002b00020304";

/* section 4, {server} construct an EncryptedExtensions / EncryptedExtensions (44 octets) */
static const char S4_EE[] = "080000280026000a00140012001d00170018001901000101010201030104001c"
                            "0002400100000000002a0000";

/* section 4, {server} construct a Finished / Finished (36 octets) */
static const char S4_SFIN[] = "1400002053a443557d4689dca951b67220f7937d36cf8dece83703cf96f6c343"
                              "9e51b10d";

/* section 4, {client} construct an EndOfEarlyData / EndOfEarlyData (4 octets) */
static const char S4_EOED[] = "05000000";

/* section 5, {client} construct a ClientHello / ClientHello (180 octets) */
static const char S5_CH1[] = "010000b00303c05333f1e168f732427e91815a093c990115f161130c68e9be3e"
                             "563610ee9487000006130113031302010000810000000b000900000673657276"
                             "6572ff01000100000a00080006001d00170018003300260024001d0020f7dead"
                             "1d79f3fd2379002489bbe689b3b16bbc419c812fa617a6fb0a99a17117002b00"
                             "03020304000d0020001e04030503060302030804080508060401050106010201"
                             "0402050206020202002d00020101001c00024001";

/* section 5, {server} construct a ServerHello / ServerHello (176 octets): the
 * HelloRetryRequest */
static const char S5_HRR[] = "020000ac0303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e"
                             "09e2c8a8339c001301000084003300020017002c00740072c8a457e4f6d9b8f4"
                             "85a6fbb2000000000944e8ada9c6414d2412d66659d64678003023f9de457f1f"
                             "09e31dd322cfe0dc9147b7dc3ec0c577b010a0b0a8f28784226e0f061797aa37"
                             "e95da2c006d12af13e0745b0d04918d14d429a0d50808857736687baff6d07c4"
                             "682a007c62c3cb4afcb3002b00020304";

/* section 5, {client} send handshake record / payload (512 octets): the
 * second ClientHello */
static const char S5_CH2[] = "010001fc0303c05333f1e168f732427e91815a093c990115f161130c68e9be3e"
                             "563610ee9487000006130113031302010001cd0000000b000900000673657276"
                             "6572ff01000100000a00080006001d001700180033004700450017004104a8d6"
                             "b4fc93bfb595d867814c45689f74708a33714a9340fe795d7958ef47fd56039b"
                             "aa382032f78d4c4bca4f24f65560b53b1c076be41bcc099856758545a898002b"
                             "0003020304000d0020001e040305030603020308040805080604010501060102"
                             "010402050206020202002c00740072c8a457e4f6d9b8f485a6fbb20000000009"
                             "44e8ada9c6414d2412d66659d64678003023f9de457f1f09e31dd322cfe0dc91"
                             "47b7dc3ec0c577b010a0b0a8f28784226e0f061797aa37e95da2c006d12af13e"
                             "0745b0d04918d14d429a0d50808857736687baff6d07c4682a007c62c3cb4afc"
                             "b3002d00020101001c00024001001500af000000000000000000000000000000"
                             "0000000000000000000000000000000000000000000000000000000000000000"
                             "0000000000000000000000000000000000000000000000000000000000000000"
                             "0000000000000000000000000000000000000000000000000000000000000000"
                             "0000000000000000000000000000000000000000000000000000000000000000"
                             "0000000000000000000000000000000000000000000000000000000000000000";

/* section 5, {server} construct a ServerHello / ServerHello (123 octets) */
static const char S5_SH[] = "020000770303609dd3f4138c66761c3727cd0f34f183b3b9cf192a803901f6da"
                            "ebd0d6f3a00e00130100004f0033004500170041045d8b37a392a9a1ffc6eddd"
                            "d6a17292dd97e65d56585f78ee7ee926c59e00eae233d108a2779fb1f09c29c4"
                            "7709da29592e13054f9d53c1d58d806b36da0a2337002b00020304";

/* section 5, {server} construct an EncryptedExtensions / EncryptedExtensions (28 octets) */
static const char S5_EE[] = "080000180016000a0008000600170018001d001c0002400100000000";

#endif
