"""database permissions: a role per agent, row-level security, paid sends

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:30:00.000000

Issue #17.  On PostgreSQL the database itself enforces docs/permissions.md, so that an agent
holding a console's credentials (``psql``, five lines of Python) can do no more than the
console lets them:

* three group roles, ``bannertui_agents``, ``bannertui_supervisors`` and
  ``bannertui_admins``, and two service roles, ``bannertui_dispatch`` and
  ``bannertui_webhook`` (created once per server: roles are shared by its databases).  Every
  agent has a login role of their login's name, member of the group of their profile's role:
  triggers on ``agent`` and ``profile`` create it, move it between groups and revoke it
  (:func:`bannertui_sync_agent_role`), so it always follows the data an administrator edits;
* GRANTs: account-level tables (profiles, numbers, queues, members, bots, templates,
  blacklist, agents) are read by everyone and written by administrators only; the provider
  settings are read by administrators and the services only (agents see whether one is set
  up: ``account.provider_set``);
* row-level security, FORCEd, on the per-agent and per-queue tables: ``message`` (the scope
  of docs/permissions.md), ``interaction``, ``draft``, ``web_session``, ``agent`` (one's own
  row for its state and password) and ``audit_event`` (insert-only, its actor the caller);
* the credit balance changes only through SECURITY DEFINER functions that check their
  caller: ``bannertui_charge`` (a send's own credits, once: ``message.paid``),
  ``bannertui_refund`` (an unsent message's, once) and ``bannertui_add_credits``
  (administrators).  The dispatcher sends only paid messages.

The role that runs this migration owns the tables and functions and keeps every right
(an explicit policy, not an accident); it needs CREATEROLE (docs/deploy.md).  SQLite gets the
``paid`` and ``provider_set`` columns only: there, whoever can write the file is trusted.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGENTS, SUPERVISORS, ADMINS = "bannertui_agents", "bannertui_supervisors", "bannertui_admins"
DISPATCH, WEBHOOK = "bannertui_dispatch", "bannertui_webhook"
PEOPLE = f"{AGENTS}, {SUPERVISORS}, {ADMINS}"
SERVICES = f"{DISPATCH}, {WEBHOOK}"
EVERYONE = f"{PEOPLE}, {SERVICES}"
#: Marks the login roles the triggers made (COMMENT ON ROLE): only those are ever changed.
AGENT_ROLE_COMMENT = "bannertui agent"

#: Tables the administrators write and everyone reads.
ACCOUNT_LEVEL = (
    "profile",
    "profile_sms_number",
    "sms_number",
    "queue",
    "queue_agent",
    "template_queue",
    "bot",
    "template",
    "blacklist_entry",
)
#: Shared by the whole account (SPEC: contacts and groups).
SHARED = ("contact", "group", "contact_group")
#: The tables row-level security guards: the per-agent and per-queue ones, and the
#: account-level ones, whose writes need the caller to be an administrator *of this
#: database* (its agent table), not only a member of ``bannertui_admins``: group membership
#: is the server's, shared by its databases, and an agent made an administrator in another
#: database of the same server must not write this one's queues.
GUARDED = (
    "message",
    "interaction",
    "draft",
    "web_session",
    "agent",
    "audit_event",
    "account",
    *ACCOUNT_LEVEL,
)

ROLES_SQL = f"""
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['{AGENTS}', '{SUPERVISORS}', '{ADMINS}', '{DISPATCH}', '{WEBHOOK}']
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of this server made it meanwhile
      END;
    END IF;
  END LOOP;
END $$;
"""

#: Who is calling: the agent whose login is the session's role (SET ROLE does not change
#: session_user), and their profile's role.  SECURITY DEFINER: they read ``agent`` whatever
#: its policies; STABLE, and used as ``(SELECT f())`` so a statement evaluates them once.
FUNCTIONS_SQL = f"""
CREATE FUNCTION bannertui_agent_id() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT id FROM agent WHERE login = session_user AND active
$$;

CREATE FUNCTION bannertui_agent_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT p.role FROM agent a JOIN profile p ON p.id = a.profile_id
  WHERE a.login = session_user AND a.active
$$;

CREATE FUNCTION bannertui_sees_all() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT coalesce(bannertui_agent_role() IN ('supervisor', 'admin'), false)
$$;

CREATE FUNCTION bannertui_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT coalesce(bannertui_agent_role() = 'admin', false)
$$;

-- The owner (who migrates and runs `db init`; or a superuser): trusted with everything.
-- current_user is the functions' owner here (SECURITY DEFINER).
CREATE FUNCTION bannertui_is_owner() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT pg_has_role(session_user, current_user, 'MEMBER')
$$;

CREATE FUNCTION bannertui_is_service() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT pg_has_role(session_user, '{DISPATCH}', 'MEMBER')
      OR pg_has_role(session_user, '{WEBHOOK}', 'MEMBER')
$$;

-- An inbound text outside any queue is a reply to one of the caller's sends (the scope of
-- docs/permissions.md): one probe of ix_message_agent_sent.  SECURITY DEFINER: a policy of
-- ``message`` cannot read ``message`` itself.
-- (The caller's id is an argument, looked up once per statement by the policy; it must be
-- the caller's own, or the function would tell anyone what another agent sent.)
CREATE FUNCTION bannertui_replied_to(me integer, remote text, ours text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT EXISTS (
    SELECT 1 FROM message s JOIN agent a ON a.id = s.agent_id
    WHERE s.agent_id = me AND a.login = session_user AND a.active
      AND s.remote_number = remote AND s.from_number = ours)
$$;

-- The agent's login role, in the group of their role; NULL group: revoked (disabled or
-- removed).  Only roles this function made (COMMENT '{AGENT_ROLE_COMMENT}') are touched: an
-- agent named like another role of the server (postgres, the owner) is refused.
CREATE FUNCTION bannertui_set_agent_role(login text, grp text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  existing oid;
  g text;
BEGIN
  IF login IS NULL OR login = '' OR length(login) > 63 OR login LIKE 'pg\\_%'
     OR login LIKE 'bannertui\\_%' THEN
    RAISE EXCEPTION 'Not allowed: % cannot be a database role (1-63 characters, not pg_ or '
      'bannertui_)', login USING ERRCODE = 'BT403';
  END IF;
  SELECT oid INTO existing FROM pg_roles WHERE rolname = login;
  IF existing IS NOT NULL
     AND coalesce(shobj_description(existing, 'pg_authid'), '') <> '{AGENT_ROLE_COMMENT}' THEN
    IF grp IS NULL THEN
      RETURN;  -- not ours: nothing to revoke
    END IF;
    RAISE EXCEPTION 'Not allowed: the database role % exists and is not a bannertui agent',
      login USING ERRCODE = 'BT403';
  END IF;
  -- Roles are the server's, shared by its databases: only what differs is changed (two
  -- databases seeding the same agents at once then change nothing twice), and a change made
  -- meanwhile by another transaction is taken as done.
  IF existing IS NULL THEN
    IF grp IS NULL THEN
      RETURN;
    END IF;
    BEGIN
      EXECUTE format('CREATE ROLE %I LOGIN', login);
      EXECUTE format('COMMENT ON ROLE %I IS %L', login, '{AGENT_ROLE_COMMENT}');
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  FOREACH g IN ARRAY ARRAY['{AGENTS}', '{SUPERVISORS}', '{ADMINS}'] LOOP
    IF g IS DISTINCT FROM grp AND pg_has_role(login, g, 'MEMBER') THEN
      EXECUTE format('REVOKE %I FROM %I', g, login);
    END IF;
  END LOOP;
  IF grp IS NOT NULL AND NOT pg_has_role(login, grp, 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT %I TO %I', grp, login);
    EXCEPTION WHEN unique_violation THEN
      NULL;
    END;
  END IF;
  IF (SELECT rolcanlogin FROM pg_roles WHERE rolname = login) IS DISTINCT FROM (grp IS NOT NULL)
  THEN
    EXECUTE format('ALTER ROLE %I %s', login, CASE WHEN grp IS NULL THEN 'NOLOGIN' ELSE 'LOGIN' END);
  END IF;
END $$;

CREATE FUNCTION bannertui_group_of(profile_id integer, active boolean) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT CASE WHEN NOT active THEN NULL
    ELSE CASE (SELECT role FROM profile WHERE id = profile_id)
      WHEN 'agent' THEN '{AGENTS}' WHEN 'supervisor' THEN '{SUPERVISORS}'
      WHEN 'admin' THEN '{ADMINS}' END END
$$;

CREATE FUNCTION bannertui_agent_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND (TG_OP = 'DELETE' OR OLD.login <> NEW.login) THEN
    PERFORM bannertui_set_agent_role(OLD.login, NULL);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM bannertui_set_agent_role(NEW.login, bannertui_group_of(NEW.profile_id, NEW.active));
    RETURN NEW;
  END IF;
  RETURN OLD;
END $$;

CREATE FUNCTION bannertui_profile_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE a record;
BEGIN
  FOR a IN SELECT login, profile_id, active FROM agent WHERE profile_id = NEW.id LOOP
    PERFORM bannertui_set_agent_role(a.login, bannertui_group_of(a.profile_id, a.active));
  END LOOP;
  RETURN NEW;
END $$;

-- What an agent may change of their own row (policy own_row): their state and their
-- password; the rest (profile, login, active, name) is an administrator's of this database
-- (a member of bannertui_admins made so by another database of the server included).
CREATE FUNCTION bannertui_agent_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF NOT (bannertui_is_admin() OR bannertui_is_owner() OR bannertui_is_service())
     AND (NEW.id, NEW.login, NEW.display_name, NEW.profile_id, NEW.active)
         IS DISTINCT FROM (OLD.id, OLD.login, OLD.display_name, OLD.profile_id, OLD.active)
  THEN
    RAISE EXCEPTION 'Not allowed: only an administrator changes an agent''s profile, login,'
      ' name or state of activity' USING ERRCODE = 'BT403';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER agent_guard BEFORE UPDATE ON agent
  FOR EACH ROW EXECUTE FUNCTION bannertui_agent_guard();

CREATE TRIGGER agent_role AFTER INSERT OR DELETE OR UPDATE OF login, profile_id, active
  ON agent FOR EACH ROW EXECUTE FUNCTION bannertui_agent_changed();
CREATE TRIGGER profile_role AFTER UPDATE OF role ON profile
  FOR EACH ROW EXECUTE FUNCTION bannertui_profile_changed();

-- Money.  A send is charged once (message.paid), by whoever may send it; an unsent one is
-- refunded once; credits are added by administrators.  Errors: BT402 (the balance is
-- short), BT403 (not allowed), BT422 (a bad amount).
CREATE FUNCTION bannertui_may_charge(m message) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  -- a send in the caller's scope (docs/permissions.md: what they may resend)
  SELECT bannertui_is_owner() OR bannertui_is_service() OR bannertui_sees_all()
      OR m.agent_id = bannertui_agent_id()
      OR m.queue_id IN (SELECT queue_id FROM queue_agent WHERE agent_id = bannertui_agent_id())
      OR m.interaction_id IN (
            SELECT id FROM interaction WHERE agent_id = bannertui_agent_id())
$$;

CREATE FUNCTION bannertui_charge(ids integer[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  total integer;
  refused integer;
  left_ integer;
BEGIN
  SELECT min(m.id) INTO refused FROM message m
  WHERE m.id = ANY(ids) AND NOT (
    m.direction = 'outbound' AND m.status IN ('scheduled', 'pending') AND NOT m.paid
    AND bannertui_may_charge(m));
  IF refused IS NOT NULL OR (SELECT count(*) FROM message WHERE id = ANY(ids))
     <> cardinality(ARRAY(SELECT DISTINCT unnest(ids))) THEN
    RAISE EXCEPTION 'Not allowed: message #% is not an unpaid send in your scope',
      coalesce(refused, 0) USING ERRCODE = 'BT403';
  END IF;
  SELECT coalesce(sum(credits), 0) INTO total FROM message WHERE id = ANY(ids);
  UPDATE message SET paid = true WHERE id = ANY(ids);
  IF total > 0 THEN
    UPDATE account SET credits = credits - total WHERE id = 1 AND credits >= total;
    IF NOT FOUND THEN
      SELECT credits INTO left_ FROM account WHERE id = 1;
      RAISE EXCEPTION 'Insufficient credits: % needed, % left', total, coalesce(left_, 0)
        USING ERRCODE = 'BT402';
    END IF;
  END IF;
  RETURN total;
END $$;

CREATE FUNCTION bannertui_refund(id_ integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  m message;
BEGIN
  SELECT * INTO m FROM message WHERE id = id_;
  IF m.id IS NULL OR NOT bannertui_may_charge(m) THEN
    RAISE EXCEPTION 'Not allowed: message #% is not yours', id_ USING ERRCODE = 'BT403';
  END IF;
  IF m.status <> 'failed' OR NOT m.paid OR m.sent_at IS NOT NULL THEN
    RETURN 0;  -- not failed unsent, or refunded already
  END IF;
  UPDATE message SET paid = false WHERE id = id_;
  UPDATE account SET credits = credits + m.credits WHERE id = 1;
  RETURN m.credits;
END $$;

CREATE FUNCTION bannertui_add_credits(amount integer, most integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  balance integer;
BEGIN
  IF NOT (bannertui_is_admin() OR bannertui_is_owner()) THEN
    RAISE EXCEPTION 'Not allowed: % is not an administrator: adding credits is for them',
      session_user USING ERRCODE = 'BT403';
  END IF;
  IF amount IS NULL OR amount < 1 OR amount > most OR most > 1000000000 THEN
    RAISE EXCEPTION 'Invalid amount: %', amount USING ERRCODE = 'BT422';
  END IF;
  UPDATE account SET credits = credits + amount WHERE id = 1 AND credits <= most - amount
  RETURNING credits INTO balance;
  IF balance IS NULL THEN
    RAISE EXCEPTION 'Balance limit exceeded' USING ERRCODE = 'BT413';
  END IF;
  RETURN balance;
END $$;
"""

#: Whom a policy names: every person, ``{sees_all}`` and ``{me}`` evaluated once a statement.
_ME = "(SELECT bannertui_agent_id())"
_ALL = "(SELECT bannertui_sees_all())"
_ADMIN = "(SELECT bannertui_is_admin())"
_MY_QUEUES = f"(SELECT queue_id FROM queue_agent WHERE agent_id = {_ME})"
_MY_CONVERSATIONS = f"(SELECT id FROM interaction WHERE agent_id = {_ME})"
_MESSAGE_SCOPE = (
    f"{_ALL} OR agent_id = {_ME} OR queue_id IN {_MY_QUEUES}"
    f" OR interaction_id IN {_MY_CONVERSATIONS}"
    " OR (queue_id IS NULL AND direction = 'inbound'"
    f" AND bannertui_replied_to({_ME}, remote_number, to_number))"
)
_ACTOR_IS_CALLER = (
    "actor = session_user OR starts_with(actor, session_user || ' as ')"
    " OR (actor = 'system' AND (SELECT bannertui_is_service()))"
)

POLICIES: dict[str, list[tuple[str, str, str, str | None, str | None]]] = {
    "message": [
        ("people_read", "SELECT", PEOPLE, _MESSAGE_SCOPE, None),
        (
            "people_send",
            "INSERT",
            PEOPLE,
            None,
            f"{_ALL} OR (direction = 'outbound' AND (agent_id = {_ME}"
            f" OR (agent_id IS NULL AND interaction_id IN {_MY_CONVERSATIONS}))"
            f" AND (queue_id IS NULL OR queue_id IN {_MY_QUEUES}"
            f" OR interaction_id IN {_MY_CONVERSATIONS}))",
        ),
        ("people_change", "UPDATE", PEOPLE, _MESSAGE_SCOPE, _MESSAGE_SCOPE),
    ],
    "interaction": [
        (
            "people_read",
            "SELECT",
            PEOPLE,
            f"{_ALL} OR agent_id = {_ME} OR queue_id IN {_MY_QUEUES}",
            None,
        ),
        (
            "people_start",
            "INSERT",
            PEOPLE,
            None,
            f"{_ALL} OR ((agent_id IS NULL OR agent_id = {_ME})"
            f" AND (queue_id IS NULL OR queue_id IN {_MY_QUEUES}))",
        ),
        (
            "people_change",
            "UPDATE",
            PEOPLE,
            f"{_ALL} OR agent_id = {_ME}",
            f"{_ALL} OR agent_id = {_ME}",
        ),
    ],
    # Each agent's own (docs/permissions.md); administrators are trusted with the database.
    "draft": [
        ("own", "ALL", PEOPLE, f"agent_id = {_ME} OR {_ADMIN}", f"agent_id = {_ME} OR {_ADMIN}")
    ],
    "web_session": [
        ("own", "ALL", PEOPLE, f"agent_id = {_ME} OR {_ADMIN}", f"agent_id = {_ME} OR {_ADMIN}")
    ],
    # (Read by bannertui_admins only when an administrator of this database: the group's
    # columns include the password hashes, and its membership is the server's.)
    "agent": [
        ("people_read", "SELECT", f"{AGENTS}, {SUPERVISORS}", "true", None),
        ("admins_read", "SELECT", ADMINS, _ADMIN, None),
        ("services_read", "SELECT", SERVICES, "true", None),
        ("own_row", "UPDATE", PEOPLE, f"id = {_ME} OR {_ADMIN}", f"id = {_ME} OR {_ADMIN}"),
        ("admins_add", "INSERT", ADMINS, None, _ADMIN),
        ("admins_remove", "DELETE", ADMINS, _ADMIN, None),
    ],
    "audit_event": [
        ("admins_read", "SELECT", PEOPLE, f"{_ADMIN} OR {_ACTOR_IS_CALLER}", None),
        ("services_read", "SELECT", SERVICES, "actor = 'system'", None),
        ("as_caller", "INSERT", EVERYONE, None, _ACTOR_IS_CALLER),
    ],
    **{
        table: [
            ("everyone_read", "SELECT", EVERYONE, "true", None),
            ("admins_write", "ALL", ADMINS, _ADMIN, _ADMIN),
        ]
        for table in ACCOUNT_LEVEL
    },
    # (The provider settings likewise.)
    "account": [
        ("people_read", "SELECT", f"{AGENTS}, {SUPERVISORS}", "true", None),
        ("admins_read", "SELECT", ADMINS, _ADMIN, None),
        ("services_read", "SELECT", SERVICES, "true", None),
        ("admins_change", "UPDATE", ADMINS, _ADMIN, _ADMIN),
        ("services_change", "UPDATE", SERVICES, "true", "true"),
    ],
}

#: Columns of ``message`` a person writes (``paid`` is the money functions' alone).
_MESSAGE_PEOPLE_COLUMNS = (
    "interaction_id, agent_id, queue_id, direction, from_number, to_number, remote_number,"
    " text, encoding, credits, type, sender, ret_id, provider_message_id, status, folder,"
    " error, attempts, next_attempt_at, claimed_by, claimed_at, scheduled_at, created_at,"
    " sent_at, delivered_at, deleted, deleted_from, deleted_at"
)
_MESSAGE_PEOPLE_UPDATES = (
    "status, folder, error, attempts, next_attempt_at, scheduled_at, ret_id, deleted,"
    " deleted_from, deleted_at, claimed_by, claimed_at, sent_at, delivered_at"
)
_AGENT_PUBLIC = "id, login, display_name, profile_id, state, state_since, last_assigned_at, active"
_ACCOUNT_PUBLIC = "id, name, credits, updated_at, provider_set"


def _grants(owner: str) -> list[str]:
    out = [
        # anyone may learn the schema's revision (a role that is no agent is then told so)
        "GRANT SELECT ON alembic_version TO PUBLIC",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {EVERYONE}",
    ]
    for table in ACCOUNT_LEVEL:
        out.append(f'GRANT SELECT ON "{table}" TO {EVERYONE}')
        out.append(f'GRANT INSERT, UPDATE, DELETE ON "{table}" TO {ADMINS}')
    out.append(f"GRANT INSERT, DELETE ON queue_agent TO {ADMINS}")
    for table in SHARED:
        out.append(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {EVERYONE}')
    out += [
        f"GRANT SELECT, INSERT, DELETE ON opt_out TO {SERVICES}",
        f"GRANT SELECT ON opt_out TO {PEOPLE}",
        f"GRANT SELECT ON message TO {PEOPLE}",
        f"GRANT INSERT ({_MESSAGE_PEOPLE_COLUMNS}) ON message TO {PEOPLE}",
        f"GRANT UPDATE ({_MESSAGE_PEOPLE_UPDATES}) ON message TO {PEOPLE}",
        f"GRANT SELECT, INSERT, UPDATE ON message TO {SERVICES}",
        f"GRANT SELECT, INSERT, UPDATE ON interaction TO {EVERYONE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON draft TO {PEOPLE}",
        f"GRANT SELECT, DELETE ON draft TO {SERVICES}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON web_session TO {PEOPLE}",
        f"GRANT SELECT ({_AGENT_PUBLIC}) ON agent TO {PEOPLE}",
        f"GRANT UPDATE (state, state_since, password_hash) ON agent TO {PEOPLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON agent TO {ADMINS}",
        f"GRANT SELECT ({_AGENT_PUBLIC}), UPDATE (last_assigned_at) ON agent TO {SERVICES}",
        f"GRANT SELECT, INSERT ON audit_event TO {EVERYONE}",
        f"GRANT SELECT ({_ACCOUNT_PUBLIC}) ON account TO {PEOPLE}",
        f"GRANT SELECT ON account TO {ADMINS}, {SERVICES}",
        f"GRANT UPDATE (name, provider_url, provider_auth_enabled, provider_login,"
        f" provider_ca_file, updated_at) ON account TO {ADMINS}, {SERVICES}",
        "REVOKE ALL ON FUNCTION bannertui_set_agent_role(text, text),"
        " bannertui_charge(integer[]), bannertui_refund(integer),"
        " bannertui_add_credits(integer, integer), bannertui_agent_changed(),"
        " bannertui_profile_changed(), bannertui_agent_guard() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION bannertui_charge(integer[]), bannertui_refund(integer)"
        f" TO {EVERYONE}",
        f"GRANT EXECUTE ON FUNCTION bannertui_add_credits(integer, integer) TO {ADMINS}",
    ]
    for table in GUARDED:
        out.append(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        out.append(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        # The owner (who migrates, and runs `db init`) keeps every right: said, not implied.
        out.append(
            f'CREATE POLICY owner_all ON "{table}" TO "{owner}" USING (true) WITH CHECK (true)'
        )
    for table in ("message", "interaction", "draft", "web_session", "agent"):
        out.append(
            f'CREATE POLICY services_all ON "{table}" TO {SERVICES} USING (true) WITH CHECK (true)'
        )
    for table, policies in POLICIES.items():
        for name, command, roles, using, check in policies:
            sql = f'CREATE POLICY {name} ON "{table}" FOR {command} TO {roles}'
            if using is not None:
                sql += f" USING ({using})"
            if check is not None:
                sql += f" WITH CHECK ({check})"
            out.append(sql)
    return out


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false()))
    # (SQLite adds a stored computed column only by making the table again.)
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("account", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(
            sa.Column(
                "provider_set",
                sa.Boolean(),
                sa.Computed("provider_url IS NOT NULL AND provider_url <> ''", persisted=True),
                nullable=True,
            )
        )
    # What was queued before this revision was paid for by the debit of its time.
    op.execute(
        "UPDATE message SET paid = true WHERE direction = 'outbound'"
        " AND status IN ('scheduled', 'pending', 'sending', 'sent', 'delivered')"
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(ROLES_SQL)
    for statement in re.split(r"\n(?=CREATE )", FUNCTIONS_SQL.strip()):
        op.execute(statement)  # one a statement: asyncpg prepares each
    op.execute("ALTER TABLE audit_event ALTER COLUMN actor SET DEFAULT session_user")
    owner = bind.exec_driver_sql("SELECT current_user").scalar_one()
    for statement in _grants(str(owner)):
        op.execute(statement)
    # The agents who exist already get their login roles.
    op.execute(
        "SELECT bannertui_set_agent_role(login, bannertui_group_of(profile_id, active))"
        " FROM agent ORDER BY id"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in GUARDED:
            op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
            names = [p[0] for p in POLICIES.get(table, [])] + ["owner_all", "services_all"]
            for name in names:
                op.execute(f'DROP POLICY IF EXISTS {name} ON "{table}"')
        op.execute("DROP TRIGGER IF EXISTS agent_role ON agent")
        op.execute("DROP TRIGGER IF EXISTS agent_guard ON agent")
        op.execute("REVOKE ALL ON alembic_version FROM PUBLIC")
        op.execute("DROP TRIGGER IF EXISTS profile_role ON profile")
        op.execute("ALTER TABLE audit_event ALTER COLUMN actor DROP DEFAULT")
        for fn in (
            "bannertui_add_credits(integer, integer)",
            "bannertui_refund(integer)",
            "bannertui_charge(integer[])",
            "bannertui_may_charge(message)",
            "bannertui_profile_changed()",
            "bannertui_agent_changed()",
            "bannertui_agent_guard()",
            "bannertui_group_of(integer, boolean)",
            "bannertui_set_agent_role(text, text)",
            "bannertui_replied_to(integer, text, text)",
            "bannertui_is_service()",
            "bannertui_is_owner()",
            "bannertui_is_admin()",
            "bannertui_sees_all()",
            "bannertui_agent_role()",
            "bannertui_agent_id()",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
        for role in (AGENTS, SUPERVISORS, ADMINS, DISPATCH, WEBHOOK):
            op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("provider_set")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("paid")
