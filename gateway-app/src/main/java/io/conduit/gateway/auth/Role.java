package io.conduit.gateway.auth;

public enum Role {
    ADMIN, FINANCE, TEAM_ADMIN, MEMBER
}
