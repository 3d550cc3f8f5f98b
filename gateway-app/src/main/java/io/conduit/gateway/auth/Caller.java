package io.conduit.gateway.auth;

import java.util.List;

/** The authenticated API key and its team, as loaded for this request. Lists are null when unrestricted. */
public record Caller(long keyId, String keyPrefix, String teamId, Role role, List<String> keyAllowedModels,
                     List<String> teamAllowedModels, Integer keyRpm, Integer keyTpm, Integer teamRpm,
                     Integer teamTpm, double teamWeight) {

    /** True when both the key's and the team's allow-lists admit {@code model} (with optional adapter). */
    public boolean mayUse(String model, String adapter) {
        return admits(keyAllowedModels, model, adapter) && admits(teamAllowedModels, model, adapter);
    }

    private static boolean admits(List<String> list, String model, String adapter) {
        if (list == null) return true;
        // 'model' admits the base model only; adapters need 'model:adapter' or 'model:*' (or '*').
        for (String entry : list) {
            if (entry.equals("*")) return true;
            if (adapter == null ? entry.equals(model)
                    : entry.equals(model + ":" + adapter) || entry.equals(model + ":*")) return true;
        }
        return false;
    }

    public boolean isAdmin() {
        return role == Role.ADMIN;
    }
}
