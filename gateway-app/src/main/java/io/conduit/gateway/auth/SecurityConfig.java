package io.conduit.gateway.auth;

import io.conduit.gateway.web.ApiException;
import io.conduit.gateway.web.ErrorWriter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.ReactiveAuthenticationManager;
import org.springframework.security.config.annotation.method.configuration.EnableReactiveMethodSecurity;
import org.springframework.security.config.annotation.web.reactive.EnableWebFluxSecurity;
import org.springframework.security.config.web.server.SecurityWebFiltersOrder;
import org.springframework.security.config.web.server.ServerHttpSecurity;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.server.SecurityWebFilterChain;
import org.springframework.security.web.server.authentication.AuthenticationWebFilter;
import org.springframework.security.web.server.context.NoOpServerSecurityContextRepository;
import reactor.core.publisher.Mono;

/**
 * Bearer API keys for everything. Roles: ADMIN (all), FINANCE (finance reports and prices), TEAM_ADMIN (keys
 * and budgets of its own team, checked in the controllers), MEMBER (the /v1 API only).
 */
@Configuration
@EnableWebFluxSecurity
@EnableReactiveMethodSecurity
public class SecurityConfig {

    @Bean
    ReactiveAuthenticationManager apiKeyAuthenticationManager(KeyStore keys) {
        return authentication -> keys.authenticate((String) authentication.getCredentials())
                .map(caller -> (Authentication) new CallerAuthentication(caller));
    }

    @Bean
    SecurityWebFilterChain securityFilterChain(ServerHttpSecurity http, ReactiveAuthenticationManager manager,
                                               ErrorWriter errors) {
        AuthenticationWebFilter apiKeys = new AuthenticationWebFilter(manager);
        apiKeys.setServerAuthenticationConverter(exchange -> {
            String header = exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
            if (header == null) return Mono.empty();
            String key = header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : header.trim();
            return Mono.just(new org.springframework.security.authentication.UsernamePasswordAuthenticationToken(
                    "api-key", key));
        });
        apiKeys.setAuthenticationFailureHandler((filterExchange, ex) ->
                errors.write(filterExchange.getExchange(), ApiException.unauthorized(ex.getMessage(), "invalid_api_key")));
        apiKeys.setSecurityContextRepository(NoOpServerSecurityContextRepository.getInstance());

        return http
                .csrf(ServerHttpSecurity.CsrfSpec::disable)
                .httpBasic(ServerHttpSecurity.HttpBasicSpec::disable)
                .formLogin(ServerHttpSecurity.FormLoginSpec::disable)
                .logout(ServerHttpSecurity.LogoutSpec::disable)
                .requestCache(ServerHttpSecurity.RequestCacheSpec::disable)
                .securityContextRepository(NoOpServerSecurityContextRepository.getInstance())
                .addFilterAt(apiKeys, SecurityWebFiltersOrder.AUTHENTICATION)
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((exchange, ex) -> errors.write(exchange, ApiException.unauthorized(
                                "You didn't provide an API key. Send it as 'Authorization: Bearer ck-...'.",
                                "missing_api_key")))
                        .accessDeniedHandler((exchange, ex) -> errors.write(exchange, ApiException.forbidden(
                                "Your API key's role does not allow this operation.", "permission_denied"))))
                .authorizeExchange(a -> a
                        .pathMatchers("/actuator/health", "/actuator/health/**", "/actuator/prometheus",
                                "/v3/api-docs", "/v3/api-docs/**").permitAll()
                        .pathMatchers("/v1/**").authenticated()
                        .pathMatchers("/admin/api/finance/**").hasAnyRole("ADMIN", "FINANCE")
                        .pathMatchers("/admin/api/prices/**", "/admin/api/prices").hasAnyRole("ADMIN", "FINANCE")
                        .pathMatchers("/admin/api/**").hasAnyRole("ADMIN", "TEAM_ADMIN")
                        .pathMatchers("/actuator/**").hasRole("ADMIN")
                        .anyExchange().authenticated())
                .build();
    }
}
