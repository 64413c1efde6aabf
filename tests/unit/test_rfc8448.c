/* RFC 8448 "Example Handshake Traces for TLS 1.3", reproduced byte for byte
 * (the copy in ../shared/specs/rfc8448-traces.txt): sections 3 (simple
 * 1-RTT), 4 (resumed 0-RTT) and 5 (HelloRetryRequest). The handshake
 * messages of the trace go through iotls_transcript, the key schedule runs
 * on the (EC)DHE secrets the trace states, and every transcript hash,
 * secret, traffic key, IV, HKDF label, Finished verify_data and PSK binder
 * the trace lists is compared. All suites are TLS_AES_128_GCM_SHA256.
 *
 * The hex below is copied from the trace file. Each constant is named after
 * what it holds; the comment says where in the trace it comes from. The
 * handshake messages test_msg.c uses too are in
 * tests/testlib/rfc8448_vectors.h. */
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/error.h"
#include "keysched.h"
#include "rfc8448_vectors.h"
#include "testlib.h"
#include "transcript.h"

#define SHA256 IOTLS_HASH_SHA256
#define AES128 IOTLS_AEAD_AES_128_GCM

/* ======================= trace data ======================= */

/* server: extract secret "early" / secret (32 bytes) */
static const char S3_EARLY[] = "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a";
/* server: derive secret for handshake "tls13 derived" / expanded (32 bytes) */
static const char S3_DERIVED_HS[] =
    "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba";
/* server: derive secret for handshake "tls13 derived" / info (49 bytes) */
static const char S3_DERIVED_INFO[] =
    "00200d746c733133206465726976656420e3b0c44298fc1c149afbf4c8996fb9"
    "2427ae41e4649b934ca495991b7852b855";
/* (EC)DHE shared secret (32 bytes) */
static const char S3_DHE[] = "1bea3fdfd25f94033804b68997a55d1931dc51124ad7f6e28959bb4672e3bd13";
/* server: extract secret "handshake" / secret (32 bytes) */
static const char S3_HS_SECRET[] =
    "f2c66e28ed535dfb8721b7145ca51c8bc058514f79aa881d0d32cbe1341a2e45";
/* server: derive secret "tls13 c hs traffic" / hash (32 bytes) */
static const char S3_CH_SH_HASH[] =
    "3d35f3eba0aabf5d9661236e3b5bb938fdc32f409cc27c55499e1f0baa3abd8f";
/* server: derive secret "tls13 c hs traffic" / expanded (32 bytes) */
static const char S3_C_HS_TRAFFIC[] =
    "d7c28b57a857e961b5bf3e1d7b18d02757c4f97acb66a23372e5a7f3d0a71e07";
/* server: derive secret "tls13 c hs traffic" / info (54 bytes) */
static const char S3_C_HS_INFO[] =
    "002012746c73313320632068732074726166666963203d35f3eba0aabf5d9661"
    "236e3b5bb938fdc32f409cc27c55499e1f0baa3abd8f";
/* server: derive secret "tls13 s hs traffic" / expanded (32 bytes) */
static const char S3_S_HS_TRAFFIC[] =
    "3031e9c2c26ecc154bc36826e87feeff8f4547df52596747b2dcabf92b18fb59";
/* server: derive secret "tls13 s hs traffic" / info (54 bytes) */
static const char S3_S_HS_INFO[] =
    "002012746c73313320732068732074726166666963203d35f3eba0aabf5d9661"
    "236e3b5bb938fdc32f409cc27c55499e1f0baa3abd8f";
/* server: derive secret for master "tls13 derived" / expanded (32 bytes) */
static const char S3_DERIVED_MS[] =
    "6aac276f77177e737a1fe91dcf0d2ec9cb4fcead8690703a15348b5e5220cafa";
/* server: extract secret "master" / secret (32 bytes) */
static const char S3_MASTER[] = "a12970d9b27a3d59b6ecc1530d284073bd745ddc68d994e7a6ee70881b3d6da6";
/* server: derive write traffic keys for handshake / key expanded (16 bytes) */
static const char S3_S_HS_KEY[] = "4d15c00e47317fe99c714f8ebd92c4d1";
/* server: derive write traffic keys for handshake / iv expanded (12 bytes) */
static const char S3_S_HS_IV[] = "18223084735f2f2d8588caaa";
/* server: derive write traffic keys for handshake / key info (13 bytes) */
static const char S3_KEY_INFO[] = "001009746c733133206b657900";
/* server: derive write traffic keys for handshake / iv info (12 bytes) */
static const char S3_IV_INFO[] = "000c08746c73313320697600";
/* server: derive read traffic keys for handshake / key expanded (16 bytes) */
static const char S3_C_HS_KEY[] = "947fe41b60fa1bcf942d456268476e8d";
/* server: derive read traffic keys for handshake / iv expanded (12 bytes) */
static const char S3_C_HS_IV[] = "962df1fc720f9574f7d22248";
/* server: calculate finished / expanded (32 bytes) */
static const char S3_S_FINISHED_KEY[] =
    "2456e4d4c3cc526cad20c011327277e2b8834df514fa50db921101293cc627a8";
/* server: calculate finished / info (18 bytes) */
static const char S3_FINISHED_INFO[] = "00200e746c7331332066696e697368656400";
/* server: calculate finished / finished (32 bytes) */
static const char S3_S_VERIFY_DATA[] =
    "4c92b1b256d861a1830167827d3e288d1a76f03484e9ec886d4ff66149cbec2f";
/* server: derive secret "tls13 c ap traffic" / hash (32 bytes) */
static const char S3_CH_SF_HASH[] =
    "b285e2e2beb28adf85ce08112f7c4804cb52347a258edfa9c1bf31f7f808e8ce";
/* server: derive secret "tls13 c ap traffic" / expanded (32 bytes) */
static const char S3_C_AP_TRAFFIC[] =
    "2dca43b0ae13af89e9533d39b65dd25cc22df9e7afcaf082a76895a4da353b50";
/* server: derive secret "tls13 c ap traffic" / info (54 bytes) */
static const char S3_C_AP_INFO[] =
    "002012746c7331332063206170207472616666696320b285e2e2beb28adf85ce"
    "08112f7c4804cb52347a258edfa9c1bf31f7f808e8ce";
/* server: derive secret "tls13 s ap traffic" / expanded (32 bytes) */
static const char S3_S_AP_TRAFFIC[] =
    "49033ff303eef5739d1376cb6d27ebd695733f3c3f617e7fc76d02a6fac6277f";
/* server: derive secret "tls13 s ap traffic" / info (54 bytes) */
static const char S3_S_AP_INFO[] =
    "002012746c7331332073206170207472616666696320b285e2e2beb28adf85ce"
    "08112f7c4804cb52347a258edfa9c1bf31f7f808e8ce";
/* server: derive secret "tls13 exp master" / expanded (32 bytes) */
static const char S3_EXP_MASTER[] =
    "319b2e433f189fc5a1d81ea369e3af838cbecb0db8fffd5b9ab205afcdb999d9";
/* server: derive secret "tls13 exp master" / info (52 bytes) */
static const char S3_EXP_MASTER_INFO[] =
    "002010746c73313320657870206d617374657220b285e2e2beb28adf85ce0811"
    "2f7c4804cb52347a258edfa9c1bf31f7f808e8ce";
/* server: derive write traffic keys for application / key expanded (16 bytes) */
static const char S3_S_AP_KEY[] = "bbe6b3fc9c068c6fb331eca8aa919bfd";
/* server: derive write traffic keys for application / iv expanded (12 bytes) */
static const char S3_S_AP_IV[] = "8057dc46846821a1bea306e0";
/* client: derive write traffic keys for application / key expanded (16 bytes) */
static const char S3_C_AP_KEY[] = "d92b3e9a88ea7fe2ed69aa9c8b629e91";
/* client: derive write traffic keys for application / iv expanded (12 bytes) */
static const char S3_C_AP_IV[] = "37a828161ead2b6813ad0b13";
/* client: calculate finished / expanded (32 bytes) */
static const char S3_C_FINISHED_KEY[] =
    "34e8b781a8643a166bc10ec40c6c239f5d76005b35c6f35ff7f01075c36aaa66";
/* client: calculate finished / finished (32 bytes) */
static const char S3_C_VERIFY_DATA[] =
    "80a2c0d6cbc21078dba30affbf091929278edc832db4bfa1c811c9e8c67da9bb";
/* client: derive secret "tls13 res master" / hash (32 bytes) */
static const char S3_CH_CF_HASH[] =
    "31a6e1ceae1e798050f53cac68662eededafcf279cab1c1838b935ffcebf4275";
/* client: derive secret "tls13 res master" / expanded (32 bytes) */
static const char S3_RES_MASTER[] =
    "a34be53b07ab35b8503d7626a7cad4966873ebdea135c4b2e4cd28e4b812ac54";
/* client: derive secret "tls13 res master" / info (52 bytes) */
static const char S3_RES_MASTER_INFO[] =
    "002010746c73313320726573206d61737465722031a6e1ceae1e798050f53cac"
    "68662eededafcf279cab1c1838b935ffcebf4275";
/* server: generate resumption secret / hash (2 bytes) */
static const char S3_TICKET_NONCE[] = "0000";
/* server: generate resumption secret / info (22 bytes) */
static const char S3_RESUMPTION_INFO[] = "002010746c73313320726573756d7074696f6e020000";
/* server: generate resumption secret / expanded (32 bytes) */
static const char S3_RESUMPTION_PSK[] =
    "cae5ce63ca4b2a7333a7cef44351eea4b6a0b6dabfe52e8fa8828c57602b807c";
/* client: construct a ClientHello / ClientHello (477 bytes) */
static const char S4_CH_PREFIX[] =
    "010001fc0303750e184c0c28d365ffab68b74cb202fdb495ad19f527c6e6cebe"
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
    "ed5fa681bbf876e362ad9c0a68d2b5266c79aa806cbfe6113b933d0937";
/* client: construct a Finished / Finished (36 bytes) */
static const char S4_CFIN[] = "1400002045d58949c2c20030c87ff17660c70cfe7160de345672142f709a8f8e"
                              "31cb6096";
/* client: extract secret "early" / secret (32 bytes) */
static const char S4_EARLY[] = "7926bf246b73dd7cf3aa5a75ec3dc91ae3a234c00565744af51697313a085fff";
/* client: extract secret "early" / IKM (32 bytes) */
static const char S4_PSK[] = "cae5ce63ca4b2a7333a7cef44351eea4b6a0b6dabfe52e8fa8828c57602b807c";
/* client: calculate PSK binder / PRK (32 bytes) */
static const char S4_BINDER_KEY[] =
    "1748d43e9e7001e862d45add841c85fa07bfdc7c68f099ac4f50735dfa29bfbc";
/* client: calculate PSK binder / expanded (32 bytes) */
static const char S4_BINDER_FINISHED_KEY[] =
    "99c8c7b09a89cf670164b5710348f9cd51ce53608a6e5ea802e0838d396aed70";
/* client: derive secret "tls13 c e traffic" / hash (32 bytes) */
static const char S4_CH_HASH[] = "d899c67dee77e998f6e881a3b14efe9387b1875dd8638dfbad8df14844e2b766";
/* client: derive secret "tls13 c e traffic" / expanded (32 bytes) */
static const char S4_C_E_TRAFFIC[] =
    "c4196f87b65585b405a6ed59ba9ca31e468ac9b2c79477d449c559a44407197f";
/* client: derive secret "tls13 c e traffic" / info (53 bytes) */
static const char S4_C_E_TRAFFIC_INFO[] =
    "002011746c73313320632065207472616666696320d899c67dee77e998f6e881"
    "a3b14efe9387b1875dd8638dfbad8df14844e2b766";
/* client: derive secret "tls13 e exp master" / expanded (32 bytes) */
static const char S4_E_EXP_MASTER[] =
    "374659e63055b71ba274739397a05b897628e4ea99dcb6ac15564d6a0dc904bc";
/* client: derive secret "tls13 e exp master" / info (54 bytes) */
static const char S4_E_EXP_MASTER_INFO[] =
    "002012746c733133206520657870206d617374657220d899c67dee77e998f6e8"
    "81a3b14efe9387b1875dd8638dfbad8df14844e2b766";
/* client: derive write traffic keys for early / key expanded (16 bytes) */
static const char S4_EARLY_KEY[] = "a9d6c91b8adb612268f7724f0b6cdc75";
/* client: derive write traffic keys for early / iv expanded (12 bytes) */
static const char S4_EARLY_IV[] = "8d52156fb7db01cb290bdef1";
/* server: derive secret for handshake "tls13 derived" / expanded (32 bytes) */
static const char S4_DERIVED_HS[] =
    "145a534c158615d3b1ec2926578834139c4a88dd63fb61f4a77baa7940ff2f58";
/* server: derive secret for handshake "tls13 derived" / info (49 bytes) */
static const char S4_DERIVED_INFO[] =
    "00200d746c733133206465726976656420e3b0c44298fc1c149afbf4c8996fb9"
    "2427ae41e4649b934ca495991b7852b855";
/* (EC)DHE shared secret (32 bytes) */
static const char S4_DHE[] = "18d56663008e5df98a5c89577de96076e304383265de56ddb61184006bdf8545";
/* server: extract secret "handshake" / secret (32 bytes) */
static const char S4_HS_SECRET[] =
    "0a4a82590a96141e59c0f7130049a24facd080d187f62bf606a897b01d75e09b";
/* server: derive secret "tls13 c hs traffic" / hash (32 bytes) */
static const char S4_CH_SH_HASH[] =
    "8fa5117ce95d2b6fb824df54b34d1694d05483593472f379b94c52535ca9b5e8";
/* server: derive secret "tls13 c hs traffic" / expanded (32 bytes) */
static const char S4_C_HS_TRAFFIC[] =
    "74739327edf99fadd88155fc8e9817a15ef1a3c5091c968bdf4a46201f6eecd8";
/* server: derive secret "tls13 c hs traffic" / info (54 bytes) */
static const char S4_C_HS_INFO[] =
    "002012746c73313320632068732074726166666963208fa5117ce95d2b6fb824"
    "df54b34d1694d05483593472f379b94c52535ca9b5e8";
/* server: derive secret "tls13 s hs traffic" / expanded (32 bytes) */
static const char S4_S_HS_TRAFFIC[] =
    "147abd48f114534ec0d6db3c8de5145aa90f668f8777fd373601bfe93be4c96e";
/* server: derive secret "tls13 s hs traffic" / info (54 bytes) */
static const char S4_S_HS_INFO[] =
    "002012746c73313320732068732074726166666963208fa5117ce95d2b6fb824"
    "df54b34d1694d05483593472f379b94c52535ca9b5e8";
/* server: derive secret for master "tls13 derived" / expanded (32 bytes) */
static const char S4_DERIVED_MS[] =
    "44e47558ba8cb3d2faa8a0d7eab262cdb63e378cffc592b9ce80e9d1562a0a48";
/* server: extract secret "master" / secret (32 bytes) */
static const char S4_MASTER[] = "28bb7690352d2f3ce4ddab8351ede1220cd6b15a52a3dbd687963c11b0a24539";
/* server: derive write traffic keys for handshake / key expanded (16 bytes) */
static const char S4_S_HS_KEY[] = "3c55afa573bc879ff701c278b40326cd";
/* server: derive write traffic keys for handshake / iv expanded (12 bytes) */
static const char S4_S_HS_IV[] = "62214e83fd5c68e7d9126db4";
/* server: derive write traffic keys for handshake / key info (13 bytes) */
static const char S4_KEY_INFO[] = "001009746c733133206b657900";
/* server: derive write traffic keys for handshake / iv info (12 bytes) */
static const char S4_IV_INFO[] = "000c08746c73313320697600";
/* client: derive write traffic keys for handshake / key expanded (16 bytes) */
static const char S4_C_HS_KEY[] = "dbde524fdb5be8721687e8b996e34e82";
/* client: derive write traffic keys for handshake / iv expanded (12 bytes) */
static const char S4_C_HS_IV[] = "b4171635bf354501e8be5b0c";
/* server: calculate finished / expanded (32 bytes) */
static const char S4_S_FINISHED_KEY[] =
    "17c9a1d9c68ef8edef88cf79738457c83ee2859ac1abe4862ed7f00133a7ea0e";
/* server: calculate finished / info (18 bytes) */
static const char S4_FINISHED_INFO[] = "00200e746c7331332066696e697368656400";
/* server: calculate finished / finished (32 bytes) */
static const char S4_S_VERIFY_DATA[] =
    "53a443557d4689dca951b67220f7937d36cf8dece83703cf96f6c3439e51b10d";
/* server: derive secret "tls13 c ap traffic" / hash (32 bytes) */
static const char S4_CH_SF_HASH[] =
    "231b6b98c1e90d385de482d5d0f2944fcc9ac0b6ed9dac98e15b19f41f380e88";
/* server: derive secret "tls13 c ap traffic" / expanded (32 bytes) */
static const char S4_C_AP_TRAFFIC[] =
    "88fd0f44d5aaf631b161f43ba070884bce5f29151cb9c7ace17a9ce5cd0bb8f0";
/* server: derive secret "tls13 c ap traffic" / info (54 bytes) */
static const char S4_C_AP_INFO[] =
    "002012746c7331332063206170207472616666696320231b6b98c1e90d385de4"
    "82d5d0f2944fcc9ac0b6ed9dac98e15b19f41f380e88";
/* server: derive secret "tls13 s ap traffic" / expanded (32 bytes) */
static const char S4_S_AP_TRAFFIC[] =
    "67a047ad76e8db768134f62b98cdabbfd6bcf1232b898a313045881bdc72cdbb";
/* server: derive secret "tls13 s ap traffic" / info (54 bytes) */
static const char S4_S_AP_INFO[] =
    "002012746c7331332073206170207472616666696320231b6b98c1e90d385de4"
    "82d5d0f2944fcc9ac0b6ed9dac98e15b19f41f380e88";
/* server: derive secret "tls13 exp master" / expanded (32 bytes) */
static const char S4_EXP_MASTER[] =
    "c58658af17f4d2cba048d48e5731abbe5eeb1a3196c19d4b6174389e5ed024db";
/* server: derive secret "tls13 exp master" / info (52 bytes) */
static const char S4_EXP_MASTER_INFO[] =
    "002010746c73313320657870206d617374657220231b6b98c1e90d385de482d5"
    "d0f2944fcc9ac0b6ed9dac98e15b19f41f380e88";
/* server: derive write traffic keys for application / key expanded (16 bytes) */
static const char S4_S_AP_KEY[] = "c8760f5c0779cdaf2a5ebbbad97466fb";
/* server: derive write traffic keys for application / iv expanded (12 bytes) */
static const char S4_S_AP_IV[] = "a5e50352773231004a263e20";
/* client: derive write traffic keys for application / key expanded (16 bytes) */
static const char S4_C_AP_KEY[] = "32ad875a817e79db3e9f2804f7477c49";
/* client: derive write traffic keys for application / iv expanded (12 bytes) */
static const char S4_C_AP_IV[] = "c4db3d7cbf24e820353ca81f";
/* client: calculate finished / expanded (32 bytes) */
static const char S4_C_FINISHED_KEY[] =
    "19f5bb96d0fd554494c34eaacfab129fbbddc36b0d25e0a2666095ef07160b00";
/* client: calculate finished / finished (32 bytes) */
static const char S4_C_VERIFY_DATA[] =
    "45d58949c2c20030c87ff17660c70cfe7160de345672142f709a8f8e31cb6096";
/* client: derive secret "tls13 res master" / hash (32 bytes) */
static const char S4_CH_CF_HASH[] =
    "53dc097d6a868abb3913161efb94ded7c17cec9723309e5c92906097357268c5";
/* client: derive secret "tls13 res master" / expanded (32 bytes) */
static const char S4_RES_MASTER[] =
    "899a395435cfc82589e72646e244fb4fd8a3987395c2e6ad1d148ccaa48823e2";
/* client: derive secret "tls13 res master" / info (52 bytes) */
static const char S4_RES_MASTER_INFO[] =
    "002010746c73313320726573206d61737465722053dc097d6a868abb3913161e"
    "fb94ded7c17cec9723309e5c92906097357268c5";
/* server: construct a Certificate handshake / Certificate (445 bytes) */
static const char S5_CERT[] = "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a"
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
/* server: construct a CertificateVerify / CertificateVerify (136 bytes) */
static const char S5_CV[] = "0f000084080400803eebe4ed9e963ff985631ab1717ab1c13ae32bac5acbccb6"
                            "9f38cf776d9ef1060127a9c05cb850f7c01312693bf13a94af9d223ce45c5460"
                            "6e72ff0975a1399c21258ace40dd3804adfc19d58b39f9cf03d61bed43953124"
                            "9f07d4bba3ad5a19af45d5e79d51d627877628cf7592da0a198062f75757dc47"
                            "485d1bad99aca763";
/* server: construct a Finished / Finished (36 bytes) */
static const char S5_SFIN[] = "1400002053a1537c8090112a9b29735f43d06bb1e9af915c7a587a1542a2f184"
                              "56c01bb6";
/* client: construct a Finished / Finished (36 bytes) */
static const char S5_CFIN[] = "140000200e1504631ac546cd682f3720266675959469403050825e5d14ae453b"
                              "07384b31";
/* server: extract secret "early" / secret (32 bytes) */
static const char S5_EARLY[] = "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a";
/* server: derive secret for handshake "tls13 derived" / expanded (32 bytes) */
static const char S5_DERIVED_HS[] =
    "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba";
/* server: derive secret for handshake "tls13 derived" / info (49 bytes) */
static const char S5_DERIVED_INFO[] =
    "00200d746c733133206465726976656420e3b0c44298fc1c149afbf4c8996fb9"
    "2427ae41e4649b934ca495991b7852b855";
/* (EC)DHE shared secret (32 bytes) */
static const char S5_DHE[] = "3188db87f5fedb1a049be816be7d60a83315246fbb7c3f5eafbe534a5ccd32b9";
/* server: extract secret "handshake" / secret (32 bytes) */
static const char S5_HS_SECRET[] =
    "65fa34a281a47f54a9852cdfdaa044483bdc56e73eb8910d9480b5299d25beef";
/* server: derive secret "tls13 c hs traffic" / hash (32 bytes) */
static const char S5_CH_SH_HASH[] =
    "ca8a72ef2b55549535845527ff145a0a5d97795b238051f55068a5d769a59925";
/* server: derive secret "tls13 c hs traffic" / expanded (32 bytes) */
static const char S5_C_HS_TRAFFIC[] =
    "283b461617de926092bef1ff41848243da408623c79b3a445f200a3131070da3";
/* server: derive secret "tls13 c hs traffic" / info (54 bytes) */
static const char S5_C_HS_INFO[] =
    "002012746c7331332063206873207472616666696320ca8a72ef2b5554953584"
    "5527ff145a0a5d97795b238051f55068a5d769a59925";
/* server: derive secret "tls13 s hs traffic" / expanded (32 bytes) */
static const char S5_S_HS_TRAFFIC[] =
    "da33aa635f66b569e821593a7d77c9aac9643f53af8a77f8c5f74d9194596009";
/* server: derive secret "tls13 s hs traffic" / info (54 bytes) */
static const char S5_S_HS_INFO[] =
    "002012746c7331332073206873207472616666696320ca8a72ef2b5554953584"
    "5527ff145a0a5d97795b238051f55068a5d769a59925";
/* server: derive secret for master "tls13 derived" / expanded (32 bytes) */
static const char S5_DERIVED_MS[] =
    "fe9a6f150acf606b356a450dd24e8db44d3557c2668fc4e72dc5cc966c564750";
/* server: extract secret "master" / secret (32 bytes) */
static const char S5_MASTER[] = "2af46f9030daf87dcff54ba58f97bdccc873efbe22768a540991438c191702bf";
/* server: derive write traffic keys for handshake / key expanded (16 bytes) */
static const char S5_S_HS_KEY[] = "2e676386f371e132ee7e38e66d527f6a";
/* server: derive write traffic keys for handshake / iv expanded (12 bytes) */
static const char S5_S_HS_IV[] = "97e6e0f9c7ac739b57fbbc48";
/* server: derive write traffic keys for handshake / key info (13 bytes) */
static const char S5_KEY_INFO[] = "001009746c733133206b657900";
/* server: derive write traffic keys for handshake / iv info (12 bytes) */
static const char S5_IV_INFO[] = "000c08746c73313320697600";
/* server: derive read traffic keys for handshake / key expanded (16 bytes) */
static const char S5_C_HS_KEY[] = "a80abeb95f0945e62facdfa3b6c7c96f";
/* server: derive read traffic keys for handshake / iv expanded (12 bytes) */
static const char S5_C_HS_IV[] = "f0c5b7d1139dca1f31d5d333";
/* server: calculate finished / expanded (32 bytes) */
static const char S5_S_FINISHED_KEY[] =
    "0b542692362af58fa7e8bc4aca6b5f9dcc830208cda7e31dce9352a3f6c8a36f";
/* server: calculate finished / info (18 bytes) */
static const char S5_FINISHED_INFO[] = "00200e746c7331332066696e697368656400";
/* server: calculate finished / finished (32 bytes) */
static const char S5_S_VERIFY_DATA[] =
    "53a1537c8090112a9b29735f43d06bb1e9af915c7a587a1542a2f18456c01bb6";
/* server: derive secret "tls13 c ap traffic" / hash (32 bytes) */
static const char S5_CH_SF_HASH[] =
    "680d6ab7a073a74ec9a62a64e7478f2d6550fa0c657b3e0280c4af8a0e5021b9";
/* server: derive secret "tls13 c ap traffic" / expanded (32 bytes) */
static const char S5_C_AP_TRAFFIC[] =
    "3c7a21912047af944c1668a9e31953af4bfb32685aca3c4a34769041c3978084";
/* server: derive secret "tls13 c ap traffic" / info (54 bytes) */
static const char S5_C_AP_INFO[] =
    "002012746c7331332063206170207472616666696320680d6ab7a073a74ec9a6"
    "2a64e7478f2d6550fa0c657b3e0280c4af8a0e5021b9";
/* server: derive secret "tls13 s ap traffic" / expanded (32 bytes) */
static const char S5_S_AP_TRAFFIC[] =
    "0d0f550ce40f648a1fee8977f6954eaffa58f1cdd02093bb2418441b52628913";
/* server: derive secret "tls13 s ap traffic" / info (54 bytes) */
static const char S5_S_AP_INFO[] =
    "002012746c7331332073206170207472616666696320680d6ab7a073a74ec9a6"
    "2a64e7478f2d6550fa0c657b3e0280c4af8a0e5021b9";
/* server: derive secret "tls13 exp master" / expanded (32 bytes) */
static const char S5_EXP_MASTER[] =
    "adabe284c9f1af6873cf2cf1612847ec817c8d5f2b64f6de76e7be9e895fbfee";
/* server: derive secret "tls13 exp master" / info (52 bytes) */
static const char S5_EXP_MASTER_INFO[] =
    "002010746c73313320657870206d617374657220680d6ab7a073a74ec9a62a64"
    "e7478f2d6550fa0c657b3e0280c4af8a0e5021b9";
/* server: derive write traffic keys for application / key expanded (16 bytes) */
static const char S5_S_AP_KEY[] = "e6b64f01beb5154e0d2da9d4481f87de";
/* server: derive write traffic keys for application / iv expanded (12 bytes) */
static const char S5_S_AP_IV[] = "d7d2ab240f392a7b5e2fc01a";
/* client: derive write traffic keys for application / key expanded (16 bytes) */
static const char S5_C_AP_KEY[] = "26545d98e74c85a56295c036c58f2b24";
/* client: derive write traffic keys for application / iv expanded (12 bytes) */
static const char S5_C_AP_IV[] = "491e4e6d4ab9350701d9753d";
/* client: calculate finished / expanded (32 bytes) */
static const char S5_C_FINISHED_KEY[] =
    "1dcc18c65292fb1402d340748834d957ab95f93a1439a82218c35397769b9718";
/* client: calculate finished / finished (32 bytes) */
static const char S5_C_VERIFY_DATA[] =
    "0e1504631ac546cd682f3720266675959469403050825e5d14ae453b07384b31";
/* client: derive secret "tls13 res master" / hash (32 bytes) */
static const char S5_CH_CF_HASH[] =
    "ffcf49ea1387ffb6649159bf3d2be0226943b8287b096eeaf154937a21b76055";
/* client: derive secret "tls13 res master" / expanded (32 bytes) */
static const char S5_RES_MASTER[] =
    "5a3c5d8ed25cb13bd376a7b9012eb93c47cb1946b6caff78f5ab2ef5f19e4519";
/* client: derive secret "tls13 res master" / info (52 bytes) */
static const char S5_RES_MASTER_INFO[] =
    "002010746c73313320726573206d617374657220ffcf49ea1387ffb6649159bf"
    "3d2be0226943b8287b096eeaf154937a21b76055";

/* ======================= helpers ======================= */

/* Decoded trace bytes: the largest message is 512 bytes. */
typedef struct {
    uint8_t b[1024];
    size_t len;
} bytes;

static bytes B(const char *hex)
{
    bytes v;
    v.len = tl_unhex(hex, v.b, sizeof(v.b));
    return v;
}

static void feed(iotls_transcript *t, const char *msg_hex)
{
    bytes m = B(msg_hex);
    CHECK_OK(iotls__transcript_update(t, m.b, m.len));
}

/* The helpers below report failures at the caller's line. */
#define HEX_AT(line, what, buf, len, hex) tl_check_hex(__FILE__, line, what, buf, len, hex)

/* The transcript hash so far must equal want_hex; out receives it. */
static void check_transcript_at(int line, const iotls_transcript *t, const char *want_hex,
                                uint8_t out[32])
{
    memset(out, 0, 32);
    CHECK_OK(iotls__transcript_hash(t, out));
    HEX_AT(line, "transcript hash", out, 32, want_hex);
}
#define check_transcript(...) check_transcript_at(__LINE__, __VA_ARGS__)

/* The HkdfLabel for label/context must be the "info" bytes of the trace. */
static void check_label_at(int line, const char *label, const uint8_t *context, size_t context_len,
                           size_t out_len, const char *want_info_hex)
{
    uint8_t info[600];
    size_t info_len = 0;
    CHECK_OK(
        iotls__hkdf_label(label, context, context_len, out_len, info, sizeof(info), &info_len));
    HEX_AT(line, label, info, info_len, want_info_hex);
}
#define check_label(...) check_label_at(__LINE__, __VA_ARGS__)

static void check_keys_at(int line, const uint8_t *secret, const char *key_hex, const char *iv_hex)
{
    uint8_t key[16], iv[IOTLS_AEAD_NONCE_LEN];
    memset(key, 0, sizeof(key));
    memset(iv, 0, sizeof(iv));
    CHECK_OK(iotls__traffic_keys(SHA256, AES128, secret, key, sizeof(key), iv));
    HEX_AT(line, "traffic key", key, sizeof(key), key_hex);
    HEX_AT(line, "traffic iv", iv, sizeof(iv), iv_hex);
}
#define check_keys(...) check_keys_at(__LINE__, __VA_ARGS__)

/* Finished: finished_key and verify_data from the trace, and verify_data
 * must be the body of the Finished message the trace sends. */
static void check_finished_at(int line, const uint8_t *base_key, const uint8_t *transcript_hash,
                              const char *finished_key_hex, const char *verify_hex,
                              const char *finished_msg_hex)
{
    uint8_t finished_key[32], verify[32];
    CHECK_OK(iotls__hkdf_expand_label(SHA256, base_key, "finished", NULL, 0, finished_key, 32));
    HEX_AT(line, "finished_key", finished_key, 32, finished_key_hex);
    memset(verify, 0, sizeof(verify));
    CHECK_OK(iotls__finished_verify_data(SHA256, base_key, transcript_hash, verify));
    HEX_AT(line, "verify_data", verify, 32, verify_hex);
    /* The Finished message is 14 00 00 20 || verify_data. */
    bytes msg = B(finished_msg_hex);
    HEX_AT(line, "Finished header", msg.b, 4, "14000020");
    HEX_AT(line, "Finished body", msg.b + 4, msg.len - 4, verify_hex);
}
#define check_finished(...) check_finished_at(__LINE__, __VA_ARGS__)

static int all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

static void check_labels_common(const char *derived_info, const char *key_info, const char *iv_info,
                                const char *finished_info)
{
    uint8_t empty_hash[32];
    CHECK_OK(iotls__hash(SHA256, NULL, 0, empty_hash));
    check_label("derived", empty_hash, 32, 32, derived_info);
    check_label("key", NULL, 0, 16, key_info);
    check_label("iv", NULL, 0, 12, iv_info);
    check_label("finished", NULL, 0, 32, finished_info);
}

/* ======================= section 3: simple 1-RTT ======================= */

static void test_simple_1rtt(uint8_t resumption_psk[32])
{
    iotls_transcript t;
    iotls_key_schedule ks;
    uint8_t h[32], derived[32], empty_hash[32];
    CHECK_OK(iotls__hash(SHA256, NULL, 0, empty_hash));

    check_labels_common(S3_DERIVED_INFO, S3_KEY_INFO, S3_IV_INFO, S3_FINISHED_INFO);

    /* The client hashes ClientHello before it knows the suite, so both
     * hashes run until ServerHello selects TLS_AES_128_GCM_SHA256. */
    CHECK_OK(iotls__transcript_init(&t));
    feed(&t, S3_CH);
    feed(&t, S3_SH);
    CHECK_RC(iotls__transcript_hash(&t, h), IOTLS_ERR_BAD_STATE);
    CHECK_OK(iotls__transcript_hash_with(&t, SHA256, NULL, 0, h));
    CHECK_HEX(h, 32, S3_CH_SH_HASH);
    CHECK_OK(iotls__transcript_select(&t, SHA256));
    CHECK(iotls__transcript_hash_len(&t) == 32);
    check_transcript(&t, S3_CH_SH_HASH, h);

    /* No PSK: early secret from HashLen zeros. */
    CHECK_OK(iotls__ks_init(&ks, SHA256, NULL, 0));
    CHECK(ks.hash_len == 32);
    CHECK_HEX(ks.early_secret, 32, S3_EARLY);
    CHECK_OK(iotls__derive_secret(SHA256, ks.early_secret, "derived", empty_hash, derived));
    CHECK_HEX(derived, 32, S3_DERIVED_HS);

    bytes dhe = B(S3_DHE);
    CHECK_OK(iotls__ks_handshake(&ks, dhe.b, dhe.len, h));
    CHECK_HEX(ks.handshake_secret, 32, S3_HS_SECRET);
    CHECK_HEX(ks.client_hs_traffic, 32, S3_C_HS_TRAFFIC);
    CHECK_HEX(ks.server_hs_traffic, 32, S3_S_HS_TRAFFIC);
    CHECK(all_zero(ks.early_secret, sizeof(ks.early_secret)));
    check_label("c hs traffic", h, 32, 32, S3_C_HS_INFO);
    check_label("s hs traffic", h, 32, 32, S3_S_HS_INFO);

    check_keys(ks.server_hs_traffic, S3_S_HS_KEY, S3_S_HS_IV);
    check_keys(ks.client_hs_traffic, S3_C_HS_KEY, S3_C_HS_IV);

    /* Server Finished covers ClientHello..CertificateVerify. */
    feed(&t, S3_EE);
    feed(&t, S3_CERT);
    feed(&t, S3_CV);
    CHECK_OK(iotls__transcript_hash(&t, h));
    check_finished(ks.server_hs_traffic, h, S3_S_FINISHED_KEY, S3_S_VERIFY_DATA, S3_SFIN);

    feed(&t, S3_SFIN);
    check_transcript(&t, S3_CH_SF_HASH, h);
    CHECK_OK(iotls__derive_secret(SHA256, ks.handshake_secret, "derived", empty_hash, derived));
    CHECK_HEX(derived, 32, S3_DERIVED_MS);
    CHECK_OK(iotls__ks_master(&ks, h));
    CHECK_HEX(ks.master_secret, 32, S3_MASTER);
    CHECK_HEX(ks.client_app_traffic, 32, S3_C_AP_TRAFFIC);
    CHECK_HEX(ks.server_app_traffic, 32, S3_S_AP_TRAFFIC);
    CHECK_HEX(ks.exporter_master, 32, S3_EXP_MASTER);
    CHECK(all_zero(ks.handshake_secret, sizeof(ks.handshake_secret)));
    check_label("c ap traffic", h, 32, 32, S3_C_AP_INFO);
    check_label("s ap traffic", h, 32, 32, S3_S_AP_INFO);
    check_label("exp master", h, 32, 32, S3_EXP_MASTER_INFO);

    check_keys(ks.server_app_traffic, S3_S_AP_KEY, S3_S_AP_IV);
    check_keys(ks.client_app_traffic, S3_C_AP_KEY, S3_C_AP_IV);

    /* Client Finished covers ClientHello..server Finished. */
    check_finished(ks.client_hs_traffic, h, S3_C_FINISHED_KEY, S3_C_VERIFY_DATA, S3_CFIN);

    feed(&t, S3_CFIN);
    check_transcript(&t, S3_CH_CF_HASH, h);
    CHECK_OK(iotls__ks_resumption(&ks, h));
    CHECK_HEX(ks.resumption_master, 32, S3_RES_MASTER);
    check_label("res master", h, 32, 32, S3_RES_MASTER_INFO);

    /* NewSessionTicket: lifetime(4) age_add(4) nonce<0..255> ...; the PSK
     * comes from its nonce. */
    bytes nst = B(S3_NST);
    CHECK(nst.len > 13 && nst.b[0] == 4);
    size_t nonce_len = nst.b[12];
    CHECK(13 + nonce_len <= nst.len);
    CHECK_HEX(nst.b + 13, nonce_len, S3_TICKET_NONCE);
    check_label("resumption", nst.b + 13, nonce_len, 32, S3_RESUMPTION_INFO);
    memset(resumption_psk, 0, 32);
    CHECK_OK(
        iotls__resumption_psk(SHA256, ks.resumption_master, nst.b + 13, nonce_len, resumption_psk));
    CHECK_HEX(resumption_psk, 32, S3_RESUMPTION_PSK);

    iotls__ks_wipe(&ks);
    CHECK(all_zero((const uint8_t *)&ks, sizeof(ks)));
    iotls__transcript_free(&t);
}

/* ======================= section 4: resumed 0-RTT ======================= */

static void test_resumed_0rtt(const uint8_t resumption_psk[32])
{
    iotls_transcript t;
    iotls_key_schedule ks;
    uint8_t h[32], derived[32], empty_hash[32], binder_key[32], binder[32], secret[32];
    CHECK_OK(iotls__hash(SHA256, NULL, 0, empty_hash));

    check_labels_common(S4_DERIVED_INFO, S4_KEY_INFO, S4_IV_INFO, S4_FINISHED_INFO);

    /* The PSK is the one section 3 derived from its ticket. */
    CHECK_HEX(resumption_psk, 32, S4_PSK);
    CHECK_OK(iotls__ks_init(&ks, SHA256, resumption_psk, 32));
    CHECK_HEX(ks.early_secret, 32, S4_EARLY);

    /* PSK binder: a Finished-style MAC under the "res binder" key over the
     * ClientHello truncated before its binders list. */
    CHECK_OK(iotls__ks_binder_key(&ks, 0, binder_key));
    CHECK_HEX(binder_key, 32, S4_BINDER_KEY);
    bytes prefix = B(S4_CH_PREFIX);
    bytes ch = B(S4_CH);
    CHECK(prefix.len == 477 && ch.len == 512 && memcmp(ch.b, prefix.b, prefix.len) == 0);

    CHECK_OK(iotls__transcript_init(&t));
    CHECK_OK(iotls__transcript_hash_with(&t, SHA256, prefix.b, prefix.len, h));
    CHECK_HEX(h, 32, S4_BINDER_HASH);
    CHECK_OK(iotls__hash(SHA256, prefix.b, prefix.len, h));
    CHECK_HEX(h, 32, S4_BINDER_HASH);

    uint8_t binder_finished_key[32];
    CHECK_OK(
        iotls__hkdf_expand_label(SHA256, binder_key, "finished", NULL, 0, binder_finished_key, 32));
    CHECK_HEX(binder_finished_key, 32, S4_BINDER_FINISHED_KEY);
    CHECK_OK(iotls__finished_verify_data(SHA256, binder_key, h, binder));
    CHECK_HEX(binder, 32, S4_BINDER);
    /* The sent ClientHello ends with binders<33> = binder<32>. */
    CHECK(ch.b[477] == 0x00 && ch.b[478] == 0x21 && ch.b[479] == 0x20);
    CHECK(iotls__ct_memcmp(ch.b + 480, binder, 32) == 0);
    /* The other binder label gives another key. */
    uint8_t ext_binder_key[32];
    CHECK_OK(iotls__ks_binder_key(&ks, 1, ext_binder_key));
    CHECK(memcmp(ext_binder_key, binder_key, 32) != 0);

    /* 0-RTT keys from Hash(ClientHello), before the suite is confirmed. */
    CHECK_OK(iotls__transcript_update(&t, ch.b, ch.len));
    CHECK_OK(iotls__transcript_hash_with(&t, SHA256, NULL, 0, h));
    CHECK_HEX(h, 32, S4_CH_HASH);
    check_label("c e traffic", h, 32, 32, S4_C_E_TRAFFIC_INFO);
    check_label("e exp master", h, 32, 32, S4_E_EXP_MASTER_INFO);
    CHECK_OK(iotls__ks_early_traffic(&ks, h));
    CHECK_HEX(ks.client_early_traffic, 32, S4_C_E_TRAFFIC);
    CHECK_OK(iotls__derive_secret(SHA256, ks.early_secret, "e exp master", h, secret));
    CHECK_HEX(secret, 32, S4_E_EXP_MASTER);
    check_keys(ks.client_early_traffic, S4_EARLY_KEY, S4_EARLY_IV);

    CHECK_OK(iotls__derive_secret(SHA256, ks.early_secret, "derived", empty_hash, derived));
    CHECK_HEX(derived, 32, S4_DERIVED_HS);

    feed(&t, S4_SH);
    CHECK_OK(iotls__transcript_select(&t, SHA256));
    check_transcript(&t, S4_CH_SH_HASH, h);
    bytes dhe = B(S4_DHE);
    CHECK_OK(iotls__ks_handshake(&ks, dhe.b, dhe.len, h));
    CHECK_HEX(ks.handshake_secret, 32, S4_HS_SECRET);
    CHECK_HEX(ks.client_hs_traffic, 32, S4_C_HS_TRAFFIC);
    CHECK_HEX(ks.server_hs_traffic, 32, S4_S_HS_TRAFFIC);
    check_label("c hs traffic", h, 32, 32, S4_C_HS_INFO);
    check_label("s hs traffic", h, 32, 32, S4_S_HS_INFO);
    check_keys(ks.server_hs_traffic, S4_S_HS_KEY, S4_S_HS_IV);
    check_keys(ks.client_hs_traffic, S4_C_HS_KEY, S4_C_HS_IV);
    /* The early traffic secret outlives the handshake step: the server
     * still reads 0-RTT data until EndOfEarlyData. */
    CHECK_HEX(ks.client_early_traffic, 32, S4_C_E_TRAFFIC);

    /* Resumption: no Certificate / CertificateVerify. */
    feed(&t, S4_EE);
    CHECK_OK(iotls__transcript_hash(&t, h));
    check_finished(ks.server_hs_traffic, h, S4_S_FINISHED_KEY, S4_S_VERIFY_DATA, S4_SFIN);

    feed(&t, S4_SFIN);
    check_transcript(&t, S4_CH_SF_HASH, h);
    CHECK_OK(iotls__derive_secret(SHA256, ks.handshake_secret, "derived", empty_hash, derived));
    CHECK_HEX(derived, 32, S4_DERIVED_MS);
    CHECK_OK(iotls__ks_master(&ks, h));
    CHECK_HEX(ks.master_secret, 32, S4_MASTER);
    CHECK_HEX(ks.client_app_traffic, 32, S4_C_AP_TRAFFIC);
    CHECK_HEX(ks.server_app_traffic, 32, S4_S_AP_TRAFFIC);
    CHECK_HEX(ks.exporter_master, 32, S4_EXP_MASTER);
    check_label("c ap traffic", h, 32, 32, S4_C_AP_INFO);
    check_label("s ap traffic", h, 32, 32, S4_S_AP_INFO);
    check_label("exp master", h, 32, 32, S4_EXP_MASTER_INFO);
    check_keys(ks.server_app_traffic, S4_S_AP_KEY, S4_S_AP_IV);
    check_keys(ks.client_app_traffic, S4_C_AP_KEY, S4_C_AP_IV);

    /* The client Finished also covers EndOfEarlyData. */
    feed(&t, S4_EOED);
    CHECK_OK(iotls__transcript_hash(&t, h));
    check_finished(ks.client_hs_traffic, h, S4_C_FINISHED_KEY, S4_C_VERIFY_DATA, S4_CFIN);

    feed(&t, S4_CFIN);
    check_transcript(&t, S4_CH_CF_HASH, h);
    CHECK_OK(iotls__ks_resumption(&ks, h));
    CHECK_HEX(ks.resumption_master, 32, S4_RES_MASTER);
    check_label("res master", h, 32, 32, S4_RES_MASTER_INFO);

    iotls__ks_wipe(&ks);
    iotls__transcript_free(&t);
}

/* ======================= section 5: HelloRetryRequest ======================= */

static void test_hello_retry_request(void)
{
    iotls_transcript t;
    iotls_key_schedule ks;
    uint8_t h[32], derived[32], empty_hash[32];
    CHECK_OK(iotls__hash(SHA256, NULL, 0, empty_hash));

    check_labels_common(S5_DERIVED_INFO, S5_KEY_INFO, S5_IV_INFO, S5_FINISHED_INFO);

    /* ClientHello1, then the HelloRetryRequest fixes the suite: ClientHello1
     * becomes message_hash before the HelloRetryRequest is added. */
    CHECK_OK(iotls__transcript_init(&t));
    CHECK_RC(iotls__transcript_hrr_substitute(&t), IOTLS_ERR_BAD_STATE);
    feed(&t, S5_CH1);
    CHECK_OK(iotls__transcript_select(&t, SHA256));
    CHECK_OK(iotls__transcript_hrr_substitute(&t));
    feed(&t, S5_HRR);
    feed(&t, S5_CH2);
    feed(&t, S5_SH);
    check_transcript(&t, S5_CH_SH_HASH, h);

    /* The same by hand: 0xfe 00 00 20 || Hash(CH1), then the rest. */
    {
        bytes ch1 = B(S5_CH1), hrr = B(S5_HRR), ch2 = B(S5_CH2), sh = B(S5_SH);
        static uint8_t all[4 + 32 + 1024 * 4];
        size_t n = 0;
        all[n++] = 0xfe;
        all[n++] = 0;
        all[n++] = 0;
        all[n++] = 32;
        CHECK_OK(iotls__hash(SHA256, ch1.b, ch1.len, all + n));
        n += 32;
        memcpy(all + n, hrr.b, hrr.len);
        n += hrr.len;
        memcpy(all + n, ch2.b, ch2.len);
        n += ch2.len;
        memcpy(all + n, sh.b, sh.len);
        n += sh.len;
        uint8_t manual[32];
        CHECK_OK(iotls__hash(SHA256, all, n, manual));
        CHECK_HEX(manual, 32, S5_CH_SH_HASH);

        /* Without the substitution the hash is different: the trace's value
         * really depends on it. */
        n = 0;
        memcpy(all + n, ch1.b, ch1.len);
        n += ch1.len;
        memcpy(all + n, hrr.b, hrr.len);
        n += hrr.len;
        memcpy(all + n, ch2.b, ch2.len);
        n += ch2.len;
        memcpy(all + n, sh.b, sh.len);
        n += sh.len;
        CHECK_OK(iotls__hash(SHA256, all, n, manual));
        CHECK(memcmp(manual, h, 32) != 0);
    }

    CHECK_OK(iotls__ks_init(&ks, SHA256, NULL, 0));
    CHECK_HEX(ks.early_secret, 32, S5_EARLY);
    CHECK_OK(iotls__derive_secret(SHA256, ks.early_secret, "derived", empty_hash, derived));
    CHECK_HEX(derived, 32, S5_DERIVED_HS);
    bytes dhe = B(S5_DHE);
    CHECK_OK(iotls__ks_handshake(&ks, dhe.b, dhe.len, h));
    CHECK_HEX(ks.handshake_secret, 32, S5_HS_SECRET);
    CHECK_HEX(ks.client_hs_traffic, 32, S5_C_HS_TRAFFIC);
    CHECK_HEX(ks.server_hs_traffic, 32, S5_S_HS_TRAFFIC);
    check_label("c hs traffic", h, 32, 32, S5_C_HS_INFO);
    check_label("s hs traffic", h, 32, 32, S5_S_HS_INFO);
    check_keys(ks.server_hs_traffic, S5_S_HS_KEY, S5_S_HS_IV);
    check_keys(ks.client_hs_traffic, S5_C_HS_KEY, S5_C_HS_IV);

    feed(&t, S5_EE);
    feed(&t, S5_CERT);
    feed(&t, S5_CV);
    CHECK_OK(iotls__transcript_hash(&t, h));
    check_finished(ks.server_hs_traffic, h, S5_S_FINISHED_KEY, S5_S_VERIFY_DATA, S5_SFIN);

    feed(&t, S5_SFIN);
    check_transcript(&t, S5_CH_SF_HASH, h);
    CHECK_OK(iotls__derive_secret(SHA256, ks.handshake_secret, "derived", empty_hash, derived));
    CHECK_HEX(derived, 32, S5_DERIVED_MS);
    CHECK_OK(iotls__ks_master(&ks, h));
    CHECK_HEX(ks.master_secret, 32, S5_MASTER);
    CHECK_HEX(ks.client_app_traffic, 32, S5_C_AP_TRAFFIC);
    CHECK_HEX(ks.server_app_traffic, 32, S5_S_AP_TRAFFIC);
    CHECK_HEX(ks.exporter_master, 32, S5_EXP_MASTER);
    check_label("c ap traffic", h, 32, 32, S5_C_AP_INFO);
    check_label("s ap traffic", h, 32, 32, S5_S_AP_INFO);
    check_label("exp master", h, 32, 32, S5_EXP_MASTER_INFO);
    check_keys(ks.server_app_traffic, S5_S_AP_KEY, S5_S_AP_IV);
    check_keys(ks.client_app_traffic, S5_C_AP_KEY, S5_C_AP_IV);

    check_finished(ks.client_hs_traffic, h, S5_C_FINISHED_KEY, S5_C_VERIFY_DATA, S5_CFIN);

    feed(&t, S5_CFIN);
    check_transcript(&t, S5_CH_CF_HASH, h);
    CHECK_OK(iotls__ks_resumption(&ks, h));
    CHECK_HEX(ks.resumption_master, 32, S5_RES_MASTER);
    check_label("res master", h, 32, 32, S5_RES_MASTER_INFO);

    iotls__ks_wipe(&ks);
    iotls__transcript_free(&t);
}

/* ============ SHA-384 transcript and misuse (no published trace) ============ */

/* The SHA-384 side of the transcript must equal a one-shot SHA-384 (whose
 * known answers test_hash_hkdf checks) of the same messages, with and
 * without the HelloRetryRequest substitution. */
static void test_transcript_sha384(void)
{
    bytes ch1 = B(S5_CH1), hrr = B(S5_HRR), ch2 = B(S5_CH2);
    static uint8_t all[4 + 48 + 1024 * 3];
    uint8_t got[48], want[48];
    iotls_transcript t;

    CHECK_OK(iotls__transcript_init(&t));
    CHECK_OK(iotls__transcript_update(&t, ch1.b, ch1.len));
    CHECK_OK(iotls__transcript_hash_with(&t, IOTLS_HASH_SHA384, hrr.b, hrr.len, got));
    memcpy(all, ch1.b, ch1.len);
    memcpy(all + ch1.len, hrr.b, hrr.len);
    CHECK_OK(iotls__hash(IOTLS_HASH_SHA384, all, ch1.len + hrr.len, want));
    CHECK(memcmp(got, want, 48) == 0);

    CHECK_OK(iotls__transcript_select(&t, IOTLS_HASH_SHA384));
    CHECK(iotls__transcript_hash_len(&t) == 48);
    CHECK_RC(iotls__transcript_select(&t, SHA256), IOTLS_ERR_BAD_STATE);
    CHECK_OK(iotls__transcript_select(&t, IOTLS_HASH_SHA384));
    CHECK_RC(iotls__transcript_hash_with(&t, SHA256, NULL, 0, got), IOTLS_ERR_BAD_STATE);
    CHECK_OK(iotls__transcript_hash(&t, got));
    CHECK_OK(iotls__hash(IOTLS_HASH_SHA384, ch1.b, ch1.len, want));
    CHECK(memcmp(got, want, 48) == 0);

    CHECK_OK(iotls__transcript_hrr_substitute(&t));
    CHECK_OK(iotls__transcript_update(&t, hrr.b, hrr.len));
    CHECK_OK(iotls__transcript_update(&t, ch2.b, ch2.len));
    CHECK_OK(iotls__transcript_hash(&t, got));
    size_t n = 0;
    all[n++] = 0xfe;
    all[n++] = 0;
    all[n++] = 0;
    all[n++] = 48;
    CHECK_OK(iotls__hash(IOTLS_HASH_SHA384, ch1.b, ch1.len, all + n));
    n += 48;
    memcpy(all + n, hrr.b, hrr.len);
    n += hrr.len;
    memcpy(all + n, ch2.b, ch2.len);
    n += ch2.len;
    CHECK_OK(iotls__hash(IOTLS_HASH_SHA384, all, n, want));
    CHECK(memcmp(got, want, 48) == 0);

    iotls__transcript_free(&t);
    iotls__transcript_free(&t); /* freeing twice is harmless */
    CHECK(iotls__transcript_hash_len(&t) == 0);
}

static void test_keysched_misuse(void)
{
    uint8_t secret[32], out[64], key[32], iv[IOTLS_AEAD_NONCE_LEN];
    memset(secret, 0x11, sizeof(secret));

    /* Wrong key length for the AEAD, unknown AEAD, unsupported hash. */
    CHECK_RC(iotls__traffic_keys(SHA256, AES128, secret, key, 32, iv), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__traffic_keys(SHA256, IOTLS_AEAD_NONE, secret, key, 16, iv), IOTLS_ERR_BAD_ARG);
    CHECK_OK(iotls__traffic_keys(SHA256, IOTLS_AEAD_CHACHA20_POLY1305, secret, key, 32, iv));
    CHECK_RC(iotls__hkdf_expand_label(IOTLS_HASH_SHA512, secret, "key", NULL, 0, out, 16),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__derive_secret(IOTLS_HASH_NONE, secret, "derived", secret, out),
             IOTLS_ERR_BAD_ARG);

    /* HkdfLabel limits: label<7..255> with the prefix, context<0..255>. */
    uint8_t info[600], ctx[256];
    size_t info_len = 0;
    memset(ctx, 0, sizeof(ctx));
    CHECK_RC(iotls__hkdf_label("", NULL, 0, 32, info, sizeof(info), &info_len), IOTLS_ERR_BAD_ARG);
    CHECK_OK(iotls__hkdf_label("x", ctx, 255, 32, info, sizeof(info), &info_len));
    CHECK(info_len == 2 + 1 + 7 + 1 + 255);
    CHECK_RC(iotls__hkdf_label("x", ctx, 256, 32, info, sizeof(info), &info_len),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__hkdf_label("derived", NULL, 0, 32, info, 10, &info_len),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    char long_label[251];
    memset(long_label, 'a', 250);
    long_label[250] = 0;
    CHECK_RC(iotls__hkdf_label(long_label, NULL, 0, 32, info, sizeof(info), &info_len),
             IOTLS_ERR_BAD_ARG);
    long_label[249] = 0; /* 6 + 249 = 255: the longest allowed */
    CHECK_OK(iotls__hkdf_label(long_label, NULL, 0, 32, info, sizeof(info), &info_len));
    CHECK(info_len == 2 + 1 + 255 + 1);

    /* The walk refuses to run before init. */
    iotls_key_schedule ks;
    memset(&ks, 0, sizeof(ks));
    CHECK_RC(iotls__ks_handshake(&ks, NULL, 0, secret), IOTLS_ERR_BAD_STATE);
    CHECK_RC(iotls__ks_master(&ks, secret), IOTLS_ERR_BAD_STATE);
    CHECK_RC(iotls__ks_binder_key(&ks, 0, out), IOTLS_ERR_BAD_STATE);
    CHECK_RC(iotls__ks_init(&ks, IOTLS_HASH_SHA512, NULL, 0), IOTLS_ERR_BAD_ARG);

    /* SHA-384 walk: PSK-only (no (EC)DHE) handshake gives 48-byte secrets. */
    CHECK_OK(iotls__ks_init(&ks, IOTLS_HASH_SHA384, NULL, 0));
    CHECK(ks.hash_len == 48);
    uint8_t zeros[48], early[48];
    memset(zeros, 0, sizeof(zeros));
    CHECK_OK(iotls__hkdf_extract(IOTLS_HASH_SHA384, NULL, 0, zeros, 48, early));
    CHECK(memcmp(ks.early_secret, early, 48) == 0);
    CHECK_OK(iotls__ks_handshake(&ks, NULL, 0, zeros));
    CHECK(!all_zero(ks.client_hs_traffic, 48));
    iotls__ks_wipe(&ks);
}

/* application_traffic_secret_N+1: in place gives the same as out of place,
 * and it is HKDF-Expand-Label(secret, "traffic upd", "", HashLen). */
static void test_key_update(void)
{
    uint8_t secret[32], next[32], expect[32];
    bytes s = B(S3_C_AP_TRAFFIC);
    memcpy(secret, s.b, 32);
    CHECK_OK(iotls__next_traffic_secret(SHA256, secret, next));
    CHECK_OK(iotls__hkdf_expand_label(SHA256, secret, "traffic upd", NULL, 0, expect, 32));
    CHECK(memcmp(next, expect, 32) == 0);
    CHECK(memcmp(next, secret, 32) != 0);
    CHECK_OK(iotls__next_traffic_secret(SHA256, secret, secret));
    CHECK(memcmp(secret, next, 32) == 0);
}

int main(void)
{
    uint8_t resumption_psk[32];
    test_simple_1rtt(resumption_psk);
    test_resumed_0rtt(resumption_psk);
    test_hello_retry_request();
    test_transcript_sha384();
    test_keysched_misuse();
    test_key_update();
    return tl_finish("rfc8448");
}
