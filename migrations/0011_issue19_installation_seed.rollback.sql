DROP TABLE IF EXISTS agent_installation;
