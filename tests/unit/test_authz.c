/*
 * test_authz.c: the pure parts of so_authz: which path ids name an object
 * at all, how relation names become rights, and how a need meets the
 * caller's rights and the token's scopes.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "shipoff.h"
#include "so_authz.h"
#include "so_test.h"


static void
test_parse_id(void **state)
{
    static const struct {
        const char  *in;
        int          rc;
        long long    id;
    } cases[] = {
        { "1", SO_OK, 1 },
        { "42", SO_OK, 42 },
        { "007", SO_OK, 7 },
        { "9223372036854775807", SO_OK, 9223372036854775807LL },
        { "9223372036854775808", SO_ENOTFOUND, 0 },
        { "99999999999999999999", SO_ENOTFOUND, 0 },
        { "0000000000000000000001", SO_ENOTFOUND, 0 },
        { "0", SO_ENOTFOUND, 0 },
        { "", SO_ENOTFOUND, 0 },
        { "-1", SO_ENOTFOUND, 0 },
        { "+1", SO_ENOTFOUND, 0 },
        { "abc", SO_ENOTFOUND, 0 },
        { "12abc", SO_ENOTFOUND, 0 },
        { " 1", SO_ENOTFOUND, 0 },
        { "1 ", SO_ENOTFOUND, 0 },
        { "0x10", SO_ENOTFOUND, 0 },
        { "1e3", SO_ENOTFOUND, 0 },
    };
    long long  id;
    size_t     i;
    int        rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        id = -1;
        rc = so_authz_parse_id(cases[i].in, &id);
        so_test_label(rc != cases[i].rc || id != cases[i].id,
                      "case \"%s\"\n", cases[i].in);
        assert_int_equal(rc, cases[i].rc);
        assert_true(id == cases[i].id);
    }
}


static void
test_rights(void **state)
{
    static const struct {
        so_object_t   kind;
        const char   *names;
        unsigned      rights;
    } cases[] = {
        { SO_OBJ_TEAM, "member", SO_NEED_MEMBER },
        { SO_OBJ_TEAM, "owner", SO_NEED_MEMBER | SO_NEED_OWNER },
        { SO_OBJ_TEAM, "member,owner", SO_NEED_MEMBER | SO_NEED_OWNER },
        { SO_OBJ_TEAM, "", 0 },
        { SO_OBJ_TEAM, "owners", 0 },
        { SO_OBJ_TEAM, "own", 0 },
        { SO_OBJ_TEAM, "OWNER", 0 },
        { SO_OBJ_TEAM, "invitee", 0 },
        { SO_OBJ_TEAM, ",member,", SO_NEED_MEMBER },
        { SO_OBJ_INVITATION, "invitee", SO_NEED_INVITEE },
        { SO_OBJ_INVITATION, "owner", 0 },
        { SO_OBJ_PROJECT, "READ", SO_NEED_READ },
        { SO_OBJ_PROJECT, "DELETE,READ,WRITE",
          SO_NEED_READ | SO_NEED_WRITE | SO_NEED_DELETE },
        { SO_OBJ_PROJECT, "DELETE,READ,WRITE,owner",
          SO_NEED_ACTIONS | SO_NEED_OWNER },
        { SO_OBJ_PROJECT, "member", 0 },
        { SO_OBJ_PROJECT, "read", 0 },
        { SO_OBJ_DEPLOYMENT, "READ,WRITE", SO_NEED_READ | SO_NEED_WRITE },
    };
    unsigned  rights;
    size_t    i;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rights = so_authz_rights(cases[i].kind, cases[i].names);
        so_test_label(rights != cases[i].rights, "case %zu \"%s\"\n", i,
                      cases[i].names);
        assert_int_equal(rights, cases[i].rights);
    }
}


static void
test_check(void **state)
{
    static const unsigned  member = SO_NEED_MEMBER;
    static const unsigned  owner = SO_NEED_MEMBER | SO_NEED_OWNER;
    static const struct {
        so_object_t   kind;
        unsigned      need;
        unsigned      rights;
        unsigned      scopes;
        const char   *code;             /* NULL: allowed */
    } cases[] = {
        /* a full-scope session: the role decides */
        { SO_OBJ_TEAM, SO_NEED_READ | SO_NEED_MEMBER, member, SO_SCOPE_ALL,
          NULL },
        { SO_OBJ_TEAM, SO_NEED_READ | SO_NEED_MEMBER, owner, SO_SCOPE_ALL,
          NULL },
        { SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, owner, SO_SCOPE_ALL,
          NULL },
        { SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, member, SO_SCOPE_ALL,
          "forbidden" },
        { SO_OBJ_TEAM, SO_NEED_DELETE | SO_NEED_OWNER, member, SO_SCOPE_ALL,
          "forbidden" },
        { SO_OBJ_TEAM, SO_NEED_DELETE | SO_NEED_MEMBER, member,
          SO_SCOPE_ALL, NULL },

        /* a READ token: reads only, whatever the role */
        { SO_OBJ_TEAM, SO_NEED_READ | SO_NEED_MEMBER, owner, SO_SCOPE_READ,
          NULL },
        { SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, owner, SO_SCOPE_READ,
          "insufficient_scope" },
        { SO_OBJ_TEAM, SO_NEED_DELETE | SO_NEED_OWNER, owner,
          SO_SCOPE_READ | SO_SCOPE_WRITE, "insufficient_scope" },
        { SO_OBJ_TEAM, SO_NEED_DELETE | SO_NEED_MEMBER, member,
          SO_SCOPE_READ, "insufficient_scope" },

        /* the scope is checked first: it is the token's limit, always */
        { SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, member, SO_SCOPE_READ,
          "insufficient_scope" },

        /* a WRITE-only token cannot read */
        { SO_OBJ_TEAM, SO_NEED_READ | SO_NEED_MEMBER, owner, SO_SCOPE_WRITE,
          "insufficient_scope" },

        { SO_OBJ_INVITATION, SO_NEED_WRITE | SO_NEED_INVITEE,
          SO_NEED_INVITEE, SO_SCOPE_ALL, NULL },
        { SO_OBJ_INVITATION, SO_NEED_WRITE | SO_NEED_INVITEE, 0,
          SO_SCOPE_ALL, "forbidden" },
        { SO_OBJ_INVITATION, SO_NEED_WRITE | SO_NEED_INVITEE,
          SO_NEED_INVITEE, SO_SCOPE_READ, "insufficient_scope" },

        /* a project: the rights are the actions; the token caps them */
        { SO_OBJ_PROJECT, SO_NEED_READ, SO_NEED_READ, SO_SCOPE_ALL, NULL },
        { SO_OBJ_PROJECT, SO_NEED_WRITE, SO_NEED_READ, SO_SCOPE_ALL,
          "forbidden" },
        { SO_OBJ_PROJECT, SO_NEED_DELETE, SO_NEED_READ | SO_NEED_WRITE,
          SO_SCOPE_ALL, "forbidden" },
        { SO_OBJ_PROJECT, SO_NEED_DELETE, SO_NEED_ACTIONS, SO_SCOPE_READ,
          "insufficient_scope" },
        { SO_OBJ_PROJECT, SO_NEED_WRITE | SO_NEED_OWNER, SO_NEED_ACTIONS,
          SO_SCOPE_ALL, "forbidden" },
        { SO_OBJ_PROJECT, SO_NEED_WRITE | SO_NEED_OWNER,
          SO_NEED_ACTIONS | SO_NEED_OWNER, SO_SCOPE_ALL, NULL },
        { SO_OBJ_DEPLOYMENT, SO_NEED_WRITE, SO_NEED_READ | SO_NEED_WRITE,
          SO_SCOPE_READ | SO_SCOPE_WRITE, NULL },
    };
    const char  *code;
    size_t       i;
    int          rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        code = "unset";
        rc = so_authz_check(cases[i].kind, cases[i].need, cases[i].rights,
                            cases[i].scopes, &code);
        so_test_label((rc == SO_OK) != (cases[i].code == NULL),
                      "case %zu\n", i);

        if (cases[i].code == NULL) {
            assert_int_equal(rc, SO_OK);
            assert_null(code);
        } else {
            assert_int_equal(rc, SO_EDENIED);
            assert_non_null(code);
            assert_string_equal(code, cases[i].code);
        }
    }
}


/* the action bits are the token scopes, one for one */
static void
test_need_bits(void **state)
{
    (void) state;

    assert_int_equal(SO_NEED_READ, SO_SCOPE_READ);
    assert_int_equal(SO_NEED_WRITE, SO_SCOPE_WRITE);
    assert_int_equal(SO_NEED_DELETE, SO_SCOPE_DELETE);
    assert_int_equal((SO_NEED_MEMBER | SO_NEED_OWNER | SO_NEED_INVITEE)
                     & SO_NEED_ACTIONS, 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_rights),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_need_bits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
